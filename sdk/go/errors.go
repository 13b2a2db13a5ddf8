package airmy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error is an answer of the API with a status ≥ 400, made from its envelope
// {"error": {"type", "code", "message", "param", "request_id"}}. Use errors.As to reach it, or the
// Is* functions below to tell the classes apart:
//
//	var apiErr *airmy.Error
//	if errors.As(err, &apiErr) { log.Println(apiErr.StatusCode, apiErr.Code, apiErr.RequestID) }
type Error struct {
	StatusCode int
	Type       string // e.g. invalid_request_error
	Code       string // e.g. parameter_unknown
	Message    string
	Param      string // the field or header at fault, if any
	RequestID  string
	// RetryAfter is the server's Retry-After (a 429 carries one); 0 when absent.
	RetryAfter time.Duration
	Header     http.Header
	Body       []byte // the raw answer
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("airmy: %d %s: %s", e.StatusCode, e.Code, e.Message)
	if e.Param != "" {
		msg += " (param " + e.Param + ")"
	}
	if e.RequestID != "" {
		msg += " [request " + e.RequestID + "]"
	}
	return msg
}

func newError(res *http.Response, body []byte) *Error {
	e := &Error{StatusCode: res.StatusCode, Header: res.Header, Body: body, RequestID: res.Header.Get("Request-Id")}
	var env ErrorEnvelope
	if json.Unmarshal(body, &env) == nil && env.Error.Code != "" {
		e.Type, e.Code, e.Message, e.RequestID = env.Error.Type, env.Error.Code, env.Error.Message, env.Error.RequestID
		if env.Error.Param != nil {
			e.Param = *env.Error.Param
		}
	} else {
		e.Type, e.Code, e.Message = "api_error", "unexpected_answer", http.StatusText(res.StatusCode)
	}
	if d, ok := retryAfter(res.Header); ok {
		e.RetryAfter = d
	}
	return e
}

// ConnectionError is a request that got no answer: refused, reset, a TLS failure, or a timeout.
type ConnectionError struct {
	Err     error
	timeout bool
}

func (e *ConnectionError) Error() string {
	if e.timeout {
		return "airmy: request timed out: " + e.Err.Error()
	}
	return "airmy: connection error: " + e.Err.Error()
}
func (e *ConnectionError) Unwrap() error { return e.Err }

// Timeout reports whether the attempt ran past the request timeout.
func (e *ConnectionError) Timeout() bool { return e.timeout }

func statusIs(err error, match func(int) bool) bool {
	var e *Error
	return errors.As(err, &e) && match(e.StatusCode)
}

func status(code int) func(int) bool { return func(s int) bool { return s == code } }

// IsBadRequest reports a 400 (malformed or unknown input).
func IsBadRequest(err error) bool { return statusIs(err, status(400)) }

// IsAuthentication reports a 401 (missing, wrong, revoked or expired key).
func IsAuthentication(err error) bool { return statusIs(err, status(401)) }

// IsPermissionDenied reports a 403 (the key lacks a scope).
func IsPermissionDenied(err error) bool { return statusIs(err, status(403)) }

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return statusIs(err, status(404)) }

// IsConflict reports a 409.
func IsConflict(err error) bool { return statusIs(err, status(409)) }

// IsUnprocessableEntity reports a 422 (valid JSON that breaks a rule).
func IsUnprocessableEntity(err error) bool { return statusIs(err, status(422)) }

// IsRateLimit reports a 429; the *Error's RetryAfter says when to come back.
func IsRateLimit(err error) bool { return statusIs(err, status(429)) }

// IsInternalServer reports a status ≥ 500.
func IsInternalServer(err error) bool { return statusIs(err, func(s int) bool { return s >= 500 }) }

// IsConnection reports a request that got no answer (a timeout included).
func IsConnection(err error) bool {
	var e *ConnectionError
	return errors.As(err, &e)
}

// IsTimeout reports a request that ran past its timeout.
func IsTimeout(err error) bool {
	var e *ConnectionError
	return errors.As(err, &e) && e.timeout
}
