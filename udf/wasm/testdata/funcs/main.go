// Command funcs is a WebAssembly module of scalar functions for the
// tests of StreamSQL's WASM ABI (see package udf/wasm). Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o funcs.wasm .
package main

import (
	"unsafe"
)

func main() {}

var buffer []byte

// streamsql_buffer hands the host room for a batch's columns.
//
//go:wasmexport streamsql_buffer
func streamsqlBuffer(size int32) int32 {
	if int(size) > len(buffer) {
		buffer = make([]byte, size)
	}
	return int32(uintptr(unsafe.Pointer(&buffer[0])))
}

var errMsg = []byte{0}

// streamsql_error returns the message of the last failure.
//
//go:wasmexport streamsql_error
func streamsqlError() int32 { return int32(uintptr(unsafe.Pointer(&errMsg[0]))) }

func fail(msg string) int32 {
	errMsg = append([]byte(msg), 0)
	return 1
}

// column returns the address table entry k of cols.
func column(cols int32, k int) unsafe.Pointer {
	table := unsafe.Slice((*int32)(unsafe.Pointer(uintptr(cols))), 2*(k+1))
	return unsafe.Pointer(uintptr(table[k]))
}

func i32s(p unsafe.Pointer, n int32) []int32   { return unsafe.Slice((*int32)(p), n) }
func i64s(p unsafe.Pointer, n int32) []int64   { return unsafe.Slice((*int64)(p), n) }
func f64s(p unsafe.Pointer, n int32) []float64 { return unsafe.Slice((*float64)(p), n) }
func bytes(p unsafe.Pointer, n int32) []byte   { return unsafe.Slice((*byte)(p), n) }

// wgcd(a int, b int) returns int: the greatest common divisor.
//
//go:wasmexport wgcd
func wgcd(n int32, cols int32) int32 {
	a, b := i32s(column(cols, 0), n), i32s(column(cols, 2), n)
	out, valid := i32s(column(cols, 4), n), bytes(column(cols, 5), n)
	for i := range out {
		if valid[i] == 0 {
			continue
		}
		x, y := a[i], b[i]
		for y != 0 {
			x, y = y, x%y
		}
		if x < 0 {
			x = -x
		}
		out[i] = x
	}
	return 0
}

// wlinear(a int) returns int: a * 2 + 1 (wrapping on overflow), the
// logic of the speed benchmark.
//
//go:wasmexport wlinear
func wlinear(n int32, cols int32) int32 {
	a, out := i32s(column(cols, 0), n), i32s(column(cols, 2), n)
	for i, v := range a {
		out[i] = v*2 + 1
	}
	return 0
}

// wscale(x bigint, f double precision) returns double precision: x * f,
// NULL when f is NULL (the function is not strict).
//
//go:wasmexport wscale
func wscale(n int32, cols int32) int32 {
	x, fv, fValid := i64s(column(cols, 0), n), f64s(column(cols, 2), n), bytes(column(cols, 3), n)
	out, valid := f64s(column(cols, 4), n), bytes(column(cols, 5), n)
	for i := range out {
		if fValid[i] == 0 {
			valid[i] = 0
			continue
		}
		out[i] = float64(x[i]) * fv[i]
	}
	return 0
}

// wcheck(x int) returns int: x, or a failure for a negative x.
//
//go:wasmexport wcheck
func wcheck(n int32, cols int32) int32 {
	x := i32s(column(cols, 0), n)
	out := i32s(column(cols, 2), n)
	for i := range out {
		if x[i] < 0 {
			return fail("negative input")
		}
		out[i] = x[i]
	}
	return 0
}

// wspin(x int) returns int: never returns.
//
//go:wasmexport wspin
func wspin(n int32, cols int32) int32 {
	s := int32(0)
	for {
		s += n
		if s == -1 {
			return s
		}
	}
}

var hoard [][]byte

// whog(x int) returns int: allocates until memory runs out.
//
//go:wasmexport whog
func whog(n int32, cols int32) int32 {
	for {
		hoard = append(hoard, make([]byte, 1<<20))
	}
}

// Aggregates: the state of group k of a call is at states + k*size.

// avgState is wavg's state: plain values, no addresses.
type avgState struct {
	sum int64
	n   int64
}

func states[T any](p unsafe.Pointer, m int) []T { return unsafe.Slice((*T)(p), m) }

// maxSlot is the number of states a call may address (at most n).
func maxSlot(groups []int32) int {
	m := 0
	for _, g := range groups {
		m = max(m, int(g)+1)
	}
	return m
}

// wavg(v int) returns double precision: the average of the non-NULL
// values, with retract and merge.
//
//go:wasmexport wavg_state_size
func wavgStateSize() int32 { return int32(unsafe.Sizeof(avgState{})) }

//go:wasmexport wavg_accumulate
func wavgAccumulate(n int32, cols int32) int32 { return avgFold(n, cols, 1) }

//go:wasmexport wavg_retract
func wavgRetract(n int32, cols int32) int32 { return avgFold(n, cols, -1) }

func avgFold(n, cols int32, sign int64) int32 {
	groups := i32s(column(cols, 1), n)
	st := states[avgState](column(cols, 0), maxSlot(groups))
	v, valid := i32s(column(cols, 2), n), bytes(column(cols, 3), n)
	for i, g := range groups {
		if valid[i] != 0 {
			st[g].sum += sign * int64(v[i])
			st[g].n += sign
		}
	}
	return 0
}

//go:wasmexport wavg_finish
func wavgFinish(n int32, cols int32) int32 {
	st := states[avgState](column(cols, 0), int(n))
	out, valid := f64s(column(cols, 1), n), bytes(column(cols, 2), n)
	for i, s := range st {
		if s.n == 0 {
			valid[i] = 0
			continue
		}
		out[i] = float64(s.sum) / float64(s.n)
	}
	return 0
}

//go:wasmexport wavg_merge
func wavgMerge(n int32, cols int32) int32 {
	a, b := states[avgState](column(cols, 0), int(n)), states[avgState](column(cols, 1), int(n))
	for i := range a {
		a[i].sum += b[i].sum
		a[i].n += b[i].n
	}
	return 0
}

// wfussy(v int) returns bigint: the sum of the values, without retract,
// that fails on -1, runs forever on -2, allocates without bound on -3 and
// traps (divides by zero) on -4. Its empty state is 100 (create_state).
//
//go:wasmexport wfussy_state_size
func wfussyStateSize() int32 { return 8 }

//go:wasmexport wfussy_create_state
func wfussyCreate(n int32, st int32) int32 {
	empty := states[int64](unsafe.Pointer(uintptr(st)), int(n))
	for i := range empty {
		empty[i] = 100
	}
	return 0
}

var zero int64

//go:wasmexport wfussy_accumulate
func wfussyAccumulate(n int32, cols int32) int32 {
	groups := i32s(column(cols, 1), n)
	st := states[int64](column(cols, 0), maxSlot(groups))
	v, valid := i32s(column(cols, 2), n), bytes(column(cols, 3), n)
	for i, g := range groups {
		if valid[i] == 0 {
			continue
		}
		switch v[i] {
		case -1:
			return fail("negative input")
		case -2:
			return wspin(n, cols)
		case -3:
			return whog(n, cols)
		case -4:
			st[g] += 1 / zero
		}
		st[g] += int64(v[i])
	}
	return 0
}

//go:wasmexport wfussy_finish
func wfussyFinish(n int32, cols int32) int32 {
	st := states[int64](column(cols, 0), int(n))
	copy(i64s(column(cols, 1), n), st)
	return 0
}

// wdistinct(v int) returns bigint: the number of distinct non-NULL
// values, with retract and merge, over a state of variable size
// (wdistinct_state_size is 0): each group's state is its distinct values
// with their counts, sorted, and grows with them. The host passes each
// state as an entry (address, length); a state that changes is written to
// new memory, kept alive until the next call, and the entry points at it.
//
//go:wasmexport wdistinct_state_size
func wdistinctStateSize() int32 { return 0 }

// stateRef is an entry of the states table of variable-size states.
type stateRef struct{ addr, n int32 }

// valueCount is one distinct value of a wdistinct state and its count.
type valueCount struct{ v, c int64 }

// kept holds the states handed to the host by the last call.
var kept [][]valueCount

func refs(p unsafe.Pointer, m int) []stateRef { return unsafe.Slice((*stateRef)(p), m) }

func loadCounts(r stateRef) []valueCount {
	if r.n == 0 {
		return nil
	}
	return append([]valueCount(nil), unsafe.Slice((*valueCount)(unsafe.Pointer(uintptr(r.addr))), int(r.n)/16)...)
}

func storeCounts(r *stateRef, vs []valueCount) {
	kept = append(kept, vs)
	r.addr, r.n = 0, 0
	if len(vs) > 0 {
		r.addr, r.n = int32(uintptr(unsafe.Pointer(&vs[0]))), int32(16*len(vs))
	}
}

// addCount adds sign to v's count in the sorted vs, dropping it at zero.
func addCount(vs []valueCount, v, sign int64) []valueCount {
	lo, hi := 0, len(vs)
	for lo < hi {
		mid := (lo + hi) / 2
		if vs[mid].v < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(vs) && vs[lo].v == v {
		if vs[lo].c += sign; vs[lo].c == 0 {
			vs = append(vs[:lo], vs[lo+1:]...)
		}
		return vs
	}
	vs = append(vs, valueCount{})
	copy(vs[lo+1:], vs[lo:])
	vs[lo] = valueCount{v, sign}
	return vs
}

//go:wasmexport wdistinct_accumulate
func wdistinctAccumulate(n int32, cols int32) int32 { return distinctFold(n, cols, 1) }

//go:wasmexport wdistinct_retract
func wdistinctRetract(n int32, cols int32) int32 { return distinctFold(n, cols, -1) }

func distinctFold(n, cols int32, sign int64) int32 {
	groups := i32s(column(cols, 1), n)
	rs := refs(column(cols, 0), maxSlot(groups))
	st := make([][]valueCount, len(rs))
	for k, r := range rs {
		st[k] = loadCounts(r)
	}
	v, valid := i32s(column(cols, 2), n), bytes(column(cols, 3), n)
	for i, g := range groups {
		if valid[i] != 0 {
			st[g] = addCount(st[g], int64(v[i]), sign)
		}
	}
	kept = kept[:0]
	for k := range rs {
		storeCounts(&rs[k], st[k])
	}
	return 0
}

//go:wasmexport wdistinct_finish
func wdistinctFinish(n int32, cols int32) int32 {
	rs := refs(column(cols, 0), int(n))
	out := i64s(column(cols, 1), n)
	for i, r := range rs {
		out[i] = int64(r.n / 16)
	}
	return 0
}

//go:wasmexport wdistinct_merge
func wdistinctMerge(n int32, cols int32) int32 {
	a, b := refs(column(cols, 0), int(n)), refs(column(cols, 1), int(n))
	kept = kept[:0]
	for i := range a {
		vs := loadCounts(a[i])
		for _, x := range loadCounts(b[i]) {
			vs = addCount(vs, x.v, x.c)
		}
		storeCounts(&a[i], vs)
	}
	return 0
}

// Table functions: NAME(start, cap, cols) writes rows start.. of its
// result, at most cap, and returns how many.

// wlegs(n int, step int) returns table (i int, sq bigint, half double
// precision): n rows, row k being (k*step, k*k, k/2 or NULL for odd k).
//
//go:wasmexport wlegs
func wlegs(start, capacity int32, cols int32) int32 {
	n, step := i32s(column(cols, 0), 1)[0], i32s(column(cols, 2), 1)[0]
	if n < 0 {
		errMsg = append([]byte("negative leg count"), 0)
		return -1
	}
	is, sqs := i32s(column(cols, 4), capacity), i64s(column(cols, 6), capacity)
	halves, halfValid := f64s(column(cols, 8), capacity), bytes(column(cols, 9), capacity)
	w := int32(0)
	for k := start; k < n && w < capacity; k++ {
		is[w], sqs[w] = k*step, int64(k)*int64(k)
		if k%2 == 1 {
			halfValid[w] = 0
		} else {
			halves[w] = float64(k) / 2
		}
		w++
	}
	return w
}

// wsteps(n int) returns setof int: 1, 2, ..., n.
//
//go:wasmexport wsteps
func wsteps(start, capacity int32, cols int32) int32 {
	n := i32s(column(cols, 0), 1)[0]
	out := i32s(column(cols, 2), capacity)
	w := int32(0)
	for k := start; k < n && w < capacity; k++ {
		out[w] = k + 1
		w++
	}
	return w
}

// wnth(k int ORDER BY x int) returns int, an ordered-set aggregate: the
// k-th value (from 1) in the WITHIN GROUP order, among the first 16; NULL
// when there is none. Its rows arrive sorted, and finish gets k.
type nthState struct {
	n    int32
	vals [16]int32
}

//go:wasmexport wnth_state_size
func wnthStateSize() int32 { return int32(unsafe.Sizeof(nthState{})) }

//go:wasmexport wnth_accumulate
func wnthAccumulate(n int32, cols int32) int32 {
	groups := i32s(column(cols, 1), n)
	st := unsafe.Slice((*nthState)(column(cols, 0)), maxSlot(groups))
	v, valid := i32s(column(cols, 2), n), bytes(column(cols, 3), n)
	for i, g := range groups {
		if valid[i] != 0 && st[g].n < int32(len(st[g].vals)) {
			st[g].vals[st[g].n] = v[i]
			st[g].n++
		}
	}
	return 0
}

//go:wasmexport wnth_finish
func wnthFinish(n int32, cols int32) int32 {
	st := unsafe.Slice((*nthState)(column(cols, 0)), n)
	k, kValid := i32s(column(cols, 1), n), bytes(column(cols, 2), n)
	out, valid := i32s(column(cols, 3), n), bytes(column(cols, 4), n)
	for i := range st {
		if kValid[i] == 0 || k[i] < 1 || k[i] > st[i].n {
			valid[i] = 0
			continue
		}
		out[i] = st[i].vals[k[i]-1]
	}
	return 0
}
