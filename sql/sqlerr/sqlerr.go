// Package sqlerr is the one table of SQLSTATE codes and the error type that
// carries a code, a message and optional detail, hint and position to the
// client. Every error that can reach a client is, or wraps, an *Error; an
// error without one reaches the client as XX000 (internal_error).
package sqlerr

import (
	"errors"
	"fmt"
)

// SQLSTATE codes (PostgreSQL Appendix A) used by StreamSQL.
const (
	SuccessfulCompletion            = "00000"
	Warning                         = "01000"
	FeatureNotSupported             = "0A000"
	InvalidTransactionState         = "25000"
	ActiveSQLTransaction            = "25001"
	NoActiveSQLTransaction          = "25P01"
	InFailedSQLTransaction          = "25P02"
	InvalidSavepoint                = "3B001"
	InvalidForeignKey               = "42830"
	InvalidFunctionDefinition       = "42P13"
	ReadOnlySQLTransaction          = "25006"
	CardinalityViolation            = "21000"
	DataException                   = "22000"
	StringDataRightTruncation       = "22001"
	NumericValueOutOfRange          = "22003"
	SequenceGeneratorLimitExceeded  = "2200H"
	NullValueNotAllowed             = "22004"
	InvalidDatetimeFormat           = "22007"
	DatetimeFieldOverflow           = "22008"
	InvalidTimeZoneDisplacement     = "22009"
	InvalidEscapeCharacter          = "22019"
	InvalidParameterValue           = "22023"
	DivisionByZero                  = "22012"
	IntervalFieldOverflow           = "22015"
	InvalidCharacterValueForCast    = "22018"
	InvalidTextRepresentation       = "22P02"
	InvalidBinaryRepresentation     = "22P03"
	BadCopyFileFormat               = "22P04"
	InvalidRegularExpression        = "2201B"
	InvalidRowCountInLimit          = "2201W"
	InvalidRowCountInOffset         = "2201X"
	ArraySubscriptError             = "2202E"
	UntranslatableCharacter         = "22P05"
	CharacterNotInRepertoire        = "22021"
	InvalidJSONText                 = "22P02"
	IntegrityConstraintViolation    = "23000"
	NotNullViolation                = "23502"
	ForeignKeyViolation             = "23503"
	UniqueViolation                 = "23505"
	CheckViolation                  = "23514"
	InvalidCursorName               = "34000"
	InvalidSQLStatementName         = "26000"
	InvalidAuthorizationSpec        = "28000"
	InvalidPassword                 = "28P01"
	SyntaxError                     = "42601"
	InsufficientPrivilege           = "42501"
	UndefinedColumn                 = "42703"
	UndefinedTable                  = "42P01"
	UndefinedFunction               = "42883"
	UndefinedObject                 = "42704"
	UndefinedParameter              = "42P02"
	UndefinedSchema                 = "3F000"
	UndefinedDatabase               = "3D000"
	DuplicateColumn                 = "42701"
	DuplicateTable                  = "42P07"
	DuplicateObject                 = "42710"
	DuplicateSchema                 = "42P06"
	DuplicateFunction               = "42723"
	DuplicateAlias                  = "42712"
	DuplicatePreparedStatement      = "42P05"
	DuplicateCursor                 = "42P03"
	AmbiguousColumn                 = "42702"
	AmbiguousFunction               = "42725"
	AmbiguousParameter              = "42P08"
	DatatypeMismatch                = "42804"
	WrongObjectType                 = "42809"
	InvalidColumnReference          = "42P10"
	GroupingError                   = "42803"
	WindowingError                  = "42P20"
	InvalidRecursion                = "42P19"
	InvalidTableDefinition          = "42P16"
	InvalidObjectDefinition         = "42P17"
	InvalidColumnDefinition         = "42611"
	GeneratedAlways                 = "428C9"
	CannotCoerce                    = "42846"
	IndeterminateDatatype           = "42P18"
	DependentObjectsStillExist      = "2BP01"
	InvalidGrantOperation           = "0LP01"
	InvalidRoleSpecification        = "0P000"
	ReservedName                    = "42939"
	ObjectNotInPrerequisiteState    = "55000"
	ObjectInUse                     = "55006"
	ProgramLimitExceeded            = "54000"
	TooManyColumns                  = "54011"
	StatementTooComplex             = "54001"
	OutOfMemory                     = "53200"
	DiskFull                        = "53100"
	ConfigurationLimitExceeded      = "53400"
	TooManyConnections              = "53300"
	QueryCanceled                   = "57014"
	SerializationFailure            = "40001"
	DeadlockDetected                = "40P01"
	LockNotAvailable                = "55P03"
	IdleSessionTimeout              = "57P05"
	IdleInTransactionSessionTimeout = "25P03"
	AdminShutdown                   = "57P01"
	ProtocolViolation               = "08P01"
	ConnectionException             = "08000"
	SQLClientUnableToEstablishConn  = "08001"
	ConnectionFailure               = "08006"
	UnableToConnect                 = "08001"
	ExternalRoutineException        = "38000"
	InternalError                   = "XX000"
	DataCorrupted                   = "XX001"
	IOError                         = "58030"
)

// Error is an error with a SQLSTATE.
type Error struct {
	Code     string
	Severity string // "ERROR" unless set
	Message  string
	Detail   string
	Hint     string
	Position int // 1-based character position in the query, 0 if none
	Cause    error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Cause }

// New returns an error with code and a formatted message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetail sets the detail and returns e.
func (e *Error) WithDetail(format string, args ...any) *Error {
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

// WithHint sets the hint and returns e.
func (e *Error) WithHint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// WithPosition sets the 1-based position and returns e.
func (e *Error) WithPosition(pos int) *Error {
	e.Position = pos
	return e
}

// Wrap gives err a code unless it already carries one.
func Wrap(err error, code string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: code, Message: err.Error(), Cause: err}
}

// From returns the *Error in err's chain, or an internal error wrapping err.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: InternalError, Message: err.Error(), Cause: err}
}

// Code returns the SQLSTATE of err (XX000 when it carries none).
func Code(err error) string {
	if err == nil {
		return SuccessfulCompletion
	}
	return From(err).Code
}
