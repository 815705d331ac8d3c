package fake

import "net/http"

// jfError is an exception as Jellyfin's ExceptionMiddleware turns it into a
// response (§1): the status comes from the exception type and the body is
// always the text "Error processing request.".
type jfError struct {
	status int
	// typ is the .NET exception type, for the ERR log line.
	typ string
	msg string
	// quiet exceptions are logged without a stack trace, on one line with
	// their message.
	quiet bool
}

func (e *jfError) Error() string { return e.msg }

// argumentError is ArgumentException → 400.
func argumentError(msg string) error {
	return &jfError{http.StatusBadRequest, "System.ArgumentException", msg, false}
}

// authError is AuthenticationException → 401.
func authError(msg string) error {
	return &jfError{http.StatusUnauthorized, "System.Security.Authentication.AuthenticationException", msg, true}
}

// securityError is SecurityException → 403.
func securityError(msg string) error {
	return &jfError{http.StatusForbidden, "MediaBrowser.Controller.Net.SecurityException", msg, true}
}

// notFoundError is ResourceNotFoundException → 404.
func notFoundError(msg string) error {
	return &jfError{http.StatusNotFound, "MediaBrowser.Common.Extensions.ResourceNotFoundException", msg, false}
}

// invalidOpError is an unmapped exception (InvalidOperationException) → 500.
func invalidOpError(msg string) error {
	return &jfError{http.StatusInternalServerError, "System.InvalidOperationException", msg, false}
}
