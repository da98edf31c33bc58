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
