package zenkey

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
)

// Reason codes name why a request was refused. They appear in log events
// (attribute "reason"); the browser sees only a plain message.
const (
	reasonStore            = "store_error"
	reasonVault            = "vault_error"
	reasonMalformedToken   = "malformed_token"
	reasonTokenInvalid     = "token_invalid"
	reasonTokenClaims      = "token_claims"
	reasonNonce            = "nonce_mismatch"
	reasonState            = "state_invalid"
	reasonCallback         = "callback_invalid"
	reasonProviderError    = "provider_error"
	reasonProviderDown     = "provider_unavailable"
	reasonProviderNotFound = "provider_not_found"
	reasonExchange         = "code_exchange_failed"
	reasonDenied           = "login_denied"
	reasonRefresh          = "refresh_refused"
	reasonUpstream         = "upstream_error"
	reasonNoSession        = "no_session"
	reasonCrossSite        = "cross_site"
	reasonRevoke           = "revocation_failed"
	reasonLogoutToken      = "logout_token_invalid"
	reasonApproval         = "approval_refused"
	reasonPortToken        = "port_token_invalid"
)

// A rejection is an error with the reason code it is logged under.
type rejection struct {
	reason string
	err    error
}

func (r *rejection) Error() string { return r.err.Error() }
func (r *rejection) Unwrap() error { return r.err }

// reject wraps err (or a new error from format) with a reason code.
func reject(reason string, format string, args ...any) error {
	return &rejection{reason: reason, err: fmt.Errorf(format, args...)}
}

// reasonOf returns err's reason code, or def when it has none.
func reasonOf(err error, def string) string {
	var r *rejection
	if errors.As(err, &r) {
		return r.reason
	}
	return def
}

// userMessages are what a browser is told, by reason. Causes stay in logs.
var userMessages = map[string]string{
	reasonStore:            "Sessions are unavailable right now. Please try again in a moment.",
	reasonVault:            "Your session could not be read. Please sign in again.",
	reasonMalformedToken:   "The sign-in could not be verified. Please try again.",
	reasonTokenInvalid:     "The sign-in could not be verified. Please try again.",
	reasonTokenClaims:      "The sign-in could not be verified. Please try again.",
	reasonNonce:            "The sign-in could not be verified. Please try again.",
	reasonState:            "This sign-in link expired or was already used. Please sign in again.",
	reasonCallback:         "The sign-in response was not valid. Please sign in again.",
	reasonProviderError:    "ZenKey answered with an error. Please try again.",
	reasonProviderDown:     "ZenKey cannot be reached right now. Please try again in a moment.",
	reasonProviderNotFound: "Your mobile carrier does not offer ZenKey yet.",
	reasonExchange:         "The sign-in could not be completed. Please try again.",
	reasonDenied:           "The sign-in was not completed.",
	reasonApproval:         "The approval could not be confirmed. Nothing was done.",
}

// fail logs why a request was refused and answers it with status and a
// page (or plain text for non-browsers) that carries no detail of the
// cause.
func (m *Middleware) fail(w http.ResponseWriter, r *http.Request, status int, reason string,
	cause error) {
	m.failWith(w, r, status, reason, userMessages[reason], cause)
}

func (m *Middleware) failWith(w http.ResponseWriter, r *http.Request, status int,
	reason, message string, cause error) {
	m.logRefusal(r.Context(), status, reason, cause)

	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if !isNavigation(r) {
		http.Error(w, "zenkey: "+message, status)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	errorPage.Execute(w, map[string]string{"Message": message, "Retry": m.opts.LoginPath})
}

// logRefusal logs a refused request with its reason code: server-side
// failures as errors, the rest as warnings.
func (m *Middleware) logRefusal(ctx context.Context, status int, reason string, cause error) {
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	m.emit(ctx, level, "zenkey: request refused",
		Event{Kind: EventRejection, Reason: reason, Status: status, Err: cause})
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign-in problem</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;
  padding:0 1rem;color:#222}
a{color:#0b5cad}</style></head>
<body><h1>Sign-in problem</h1><p>{{.Message}}</p>
<p><a href="/">Home</a> · <a href="{{.Retry}}">Sign in again</a></p></body></html>
`))
