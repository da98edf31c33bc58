package sqllogictest

import (
	"os"
	"testing"
)

func TestApplyRewrites(t *testing.T) {
	p, recs := parseText(t, "r.slt", "query I\nSELECT 1\n----\n2\n\nquery I\nSELECT 3\n\nquery I\nSELECT 1 WHERE false\n----\n9\n9\n\nstatement ok\nSELECT 1\n")
	rw := []Rewrite{
		{File: p, After: recs[0].SQLEndLine, Count: recs[0].ResultLines, Lines: []string{"----", "1"}},
		{File: p, After: recs[1].SQLEndLine, Count: recs[1].ResultLines, Lines: []string{"----", "3"}},
		{File: p, After: recs[2].SQLEndLine, Count: recs[2].ResultLines, Lines: []string{}},
	}
	if err := ApplyRewrites(rw); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	want := "query I\nSELECT 1\n----\n1\n\nquery I\nSELECT 3\n----\n3\n\nquery I\nSELECT 1 WHERE false\n\nstatement ok\nSELECT 1\n"
	if string(got) != want {
		t.Errorf("rewritten file:\n%s\nwant:\n%s", got, want)
	}
}
