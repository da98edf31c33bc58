package batch

import (
	"streamsql/sql/sqlerr"
)

// queryCanceled turns a context error into PostgreSQL's cancellation error.
func queryCanceled(cause error) error {
	return &sqlerr.Error{Code: sqlerr.QueryCanceled, Message: "canceling statement due to user request", Cause: cause}
}
