package types

// AppendIntKey appends the ascending key of the non-NULL integer v:
// exactly what AppendKey writes for an int64 datum of any integer type,
// without boxing v into a Datum (for loops over typed columns).
func AppendIntKey(buf []byte, v int64) []byte {
	return appendUint64(append(buf, keyNotNull), uint64(v)^(1<<63))
}
