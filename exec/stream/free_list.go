package stream

// FreeList holds released slots (group ids, arena rows, buffers) for
// reuse; the last released is taken first, while it is likely cached.
type FreeList[T any] []T

// Put releases v for reuse.
func (f *FreeList[T]) Put(v T) { *f = append(*f, v) }

// Take returns a released slot; false when there is none.
func (f *FreeList[T]) Take() (v T, ok bool) {
	n := len(*f)
	if n == 0 {
		return v, false
	}
	v = (*f)[n-1]
	*f = (*f)[:n-1]
	return v, true
}
