package sqllogictest

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// ApplyRewrites writes corrected result blocks back into their files, the
// way datadriven's -rewrite does: review the diff before keeping it.
func ApplyRewrites(rws []Rewrite) error {
	byFile := map[string][]Rewrite{}
	for _, rw := range rws {
		byFile[rw.File] = append(byFile[rw.File], rw)
	}
	for file, list := range byFile {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		text := strings.TrimSuffix(string(data), "\n")
		lines := strings.Split(text, "\n")
		// Bottom-up, so earlier line numbers stay valid.
		sort.Slice(list, func(i, j int) bool { return list[i].After > list[j].After })
		for _, rw := range list {
			if rw.After > len(lines) || rw.After+rw.Count > len(lines) {
				return fmt.Errorf("%s: rewrite at line %d is outside the file", file, rw.After)
			}
			tail := append([]string(nil), lines[rw.After+rw.Count:]...)
			lines = append(append(lines[:rw.After], rw.Lines...), tail...)
		}
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}
