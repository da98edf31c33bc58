package types

import (
	"time"
)

func AppendBinary(buf []byte, d Datum, t T) ([]byte, error) { return buf, nil }
func ParseBinary(b []byte, t T) (Datum, error)              { return nil, nil }

type CastContext uint8

const (
	CastNone CastContext = iota
	CastExplicit
	CastAssignment
	CastImplicit
)

func Cast(d Datum, from, to T, loc *time.Location) (Datum, error) { return d, nil }
func CastKind(from, to T) CastContext                             { return CastNone }

func Compare(a, b Datum, t T) int                                 { return 0 }
func AppendKey(buf []byte, d Datum, t T, desc bool) []byte        { return buf }
func DecodeKey(buf []byte, t T, desc bool) (Datum, []byte, error) { return nil, buf, nil }
func AppendValue(buf []byte, d Datum, t T) []byte                 { return buf }
func DecodeValue(buf []byte, t T) (Datum, []byte, error)          { return nil, buf, nil }
func EncodeRow(buf []byte, row []Datum, ts []T) []byte            { return buf }
func DecodeRow(buf []byte, ts []T) ([]Datum, error)               { return nil, nil }
