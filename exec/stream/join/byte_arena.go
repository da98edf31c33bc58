package join

// byteArena holds the variable-width bytes of a join side (the text and
// binary column values, the state keys) in pages that never move. One
// growing slice copied its whole contents at every doubling: with the
// text columns of Nexmark's auctions that copy was the largest single
// cost of building a side (q4, q9). Pages grow from arenaFirstPage to
// arenaMaxPage; a value longer than that gets a page of its own.
//
// A value's offset is its page index in the high 32 bits and its position
// in the page in the low 32. Bytes handed out stay valid until reset.
type byteArena struct {
	pages [][]byte
	used  int // bytes handed out, garbage included
}

const (
	arenaFirstPage = 4 << 10
	arenaMaxPage   = 1 << 20
)

// alloc returns the offset of n new bytes and the bytes themselves, to be
// filled by the caller.
func (a *byteArena) alloc(n int) (int, []byte) {
	if n == 0 {
		return 0, nil
	}
	last := len(a.pages) - 1
	if last < 0 || cap(a.pages[last])-len(a.pages[last]) < n {
		size := arenaFirstPage
		if last >= 0 {
			size = min(2*cap(a.pages[last]), arenaMaxPage)
		}
		size = max(size, n)
		a.pages = append(a.pages, make([]byte, 0, size))
		last++
	}
	p := a.pages[last]
	pos := len(p)
	a.pages[last] = p[:pos+n]
	a.used += n
	return last<<32 | pos, a.pages[last][pos : pos+n : pos+n]
}

// add stores v and returns its offset.
func (a *byteArena) add(v []byte) int {
	off, buf := a.alloc(len(v))
	copy(buf, v)
	return off
}

// bytes returns the n bytes at off.
func (a *byteArena) bytes(off, n int) []byte {
	if n == 0 {
		return nil
	}
	pos := off & (1<<32 - 1)
	return a.pages[off>>32][pos : pos+n : pos+n]
}

// size is the number of bytes handed out since the last reset.
func (a *byteArena) size() int { return a.used }

// reset forgets every value; earlier offsets and bytes become invalid to
// the arena (the bytes themselves stay with whoever still holds them).
func (a *byteArena) reset() { a.pages, a.used = nil, 0 }
