package types

import "testing"

func TestAppendIntKeyMatchesAppendKey(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 255, 256, -1 << 63, 1<<63 - 1, 123456789} {
		for _, ty := range []T{TInt2, TInt4, TInt8} {
			if got, want := AppendIntKey([]byte{7}, v), AppendKey([]byte{7}, v, ty, false); string(got) != string(want) {
				t.Fatalf("%d as %v: %x, want %x", v, ty, got, want)
			}
		}
	}
}
