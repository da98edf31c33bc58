package udf

import (
	"math/rand/v2"
	"regexp/syntax"
	"testing"
)

func TestRequiredLiteral(t *testing.T) {
	for pat, want := range map[string]string{
		`(&|^)channel_id=([^&]*)`: "channel_id=",
		`abc`:                     "abc",
		`a|b`:                     "",
		`(abc)?x`:                 "x",
		`(?i)abc`:                 "",
		`x(hello)+y`:              "hello",
		`q{2,3}`:                  "q",
		`[a-z]*`:                  "",
		`^foo\d+barbaz$`:          "barbaz",
	} {
		tree, err := syntax.Parse(pat, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := requiredLiteral(tree.Simplify()); got != want {
			t.Errorf("%s: required literal %q, want %q", pat, got, want)
		}
	}
}

// The prefilter never changes an answer: the memo's verdict equals the
// regexp's on random strings over a small alphabet.
func TestRegexMemoPrefilterAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pats := []string{`(&|^)ab=([^&]*)`, `ba+c`, `(?i)AB`, `a(b|c)d`, `^ab$`, `c{2}`, `\mab\M`}
	var memo regexMemo
	for _, p := range pats {
		for range 2000 {
			b := make([]byte, rng.IntN(12))
			for i := range b {
				b[i] = "abcd=& "[rng.IntN(7)]
			}
			s := string(b)
			re, err := memo.compile(p, false)
			if err != nil {
				t.Fatal(err)
			}
			got := !memo.cannotMatch(s) && re.MatchString(s)
			if want := re.MatchString(s); got != want {
				t.Fatalf("%s on %q: memo says %v, regexp %v", p, s, got, want)
			}
		}
	}
}
