package engine

import "google.golang.org/protobuf/reflect/protoreflect"

// eachChild calls f on every message directly beneath m in a pg_query
// grammar tree (the elements of list fields included, map fields not), in
// field order, until f returns false; it reports whether f never did.
func eachChild(m protoreflect.Message, f func(protoreflect.Message) bool) bool {
	more := true
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap() || fd.Message() == nil:
		case fd.IsList():
			for i, l := 0, v.List(); i < l.Len() && more; i++ {
				more = f(l.Get(i).Message())
			}
		default:
			more = f(v.Message())
		}
		return more
	})
	return more
}
