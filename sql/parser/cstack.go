package parser

/*
#include <pthread.h>
#include <stdint.h>

extern void streamsqlRunOnCStack(uintptr_t h);

static void *streamsql_cstack_entry(void *arg) {
	streamsqlRunOnCStack((uintptr_t)arg);
	return NULL;
}

// streamsql_run_on_cstack runs the Go function behind h on a new thread
// with a stack of size bytes and waits for it.
static int streamsql_run_on_cstack(uintptr_t h, size_t size) {
	pthread_attr_t attr;
	pthread_t th;
	int rc = pthread_attr_init(&attr);
	if (rc != 0) return rc;
	rc = pthread_attr_setstacksize(&attr, size);
	if (rc == 0) rc = pthread_create(&th, &attr, streamsql_cstack_entry, (void *)h);
	pthread_attr_destroy(&attr);
	if (rc != 0) return rc;
	return pthread_join(th, NULL);
}
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
)

// The C code of PostgreSQL's grammar and deparser recurses once per level
// of the tree without checking its stack (see limits.go), and a cgo call
// runs on the stack of whatever thread the goroutine is on: 8 MiB with the
// usual RLIMIT_STACK, 2 MiB when it is unlimited, less when an operator
// lowers it. Deep trees are therefore handled on a thread of our own whose
// stack size we choose. The Go function runs there as a cgo callback;
// pg_query's cgo calls made from it run on that thread's stack.

// cStackBytes is the stack of that thread: the deparser, the hungriest,
// needs about 5 KiB per nested subquery, so statements within the default
// limits need under 5 MiB. The memory is reserved, not touched, until used.
const cStackBytes = 64 << 20

// A statement is parsed on the caller's thread (no thread start, which
// costs about 100-400 µs, on the path of ordinary statements) when its
// measured depth is at most shallowDepth and it has at most shallowTokens
// tokens. The token count bounds what the measure sees only loosely (forms
// nested to the right, such as BETWEEN ... AND ... BETWEEN, which the
// grammar's own stack bounds): such a form takes at least four tokens and
// about 700 bytes of C stack per level, so these statements need well
// under 512 KiB, within any thread's stack.
const (
	shallowDepth  = 64
	shallowTokens = 2000
)

// onCStack runs f on a thread with a cStackBytes stack and returns its
// result. A panic in f is returned as an error: it must not unwind through
// the C frames of the thread.
func onCStack[T any](f func() (T, error)) (res T, err error) {
	var perr any
	run := func() {
		defer func() { perr = recover() }()
		res, err = f()
	}
	h := cgo.NewHandle(run)
	defer h.Delete()
	if rc := C.streamsql_run_on_cstack(C.uintptr_t(h), C.size_t(cStackBytes)); rc != 0 {
		var zero T
		return zero, fmt.Errorf("parser: starting a thread for a deep statement: error %d", int(rc))
	}
	if perr != nil {
		var zero T
		return zero, fmt.Errorf("parser: panic: %v", perr)
	}
	return res, err
}

//export streamsqlRunOnCStack
func streamsqlRunOnCStack(h C.uintptr_t) {
	cgo.Handle(h).Value().(func())()
}
