package zenkey

import (
	"context"
	"log/slog"
)

// An EventKind names what happened in an [Event].
type EventKind string

// The kinds of events.
const (
	// EventSignIn means a session began.
	EventSignIn EventKind = "sign_in"
	// EventRejection means a request was refused; Reason says why.
	EventRejection EventKind = "rejection"
	// EventRefresh means a session's tokens were refreshed.
	EventRefresh EventKind = "refresh"
	// EventSessionEnded means a refresh ended a session; Reason says why.
	EventSessionEnded EventKind = "session_ended"
	// EventLogout means sessions were destroyed; Sessions says how many.
	EventLogout EventKind = "logout"
	// EventStoreError means the store failed.
	EventStoreError EventKind = "store_error"
	// EventProviderError means a call to the provider failed off the request path.
	EventProviderError EventKind = "provider_error"
)

// An Event is something the middleware did, handed to Options.OnEvent as
// a struct so that metrics and audit trails need not parse log lines. It
// never carries a token, a secret, a session id or a subject.
type Event struct {
	Kind EventKind

	// Reason is a short code: why a request was refused (such as
	// "state_invalid", "malformed_token", "store_error"), or which logout
	// ("local", "everywhere", "subject", "backchannel").
	Reason string

	// Status is the HTTP status answered, for rejections.
	Status int

	// Sessions is how many sessions a logout destroyed.
	Sessions int

	// Issuer is the provider involved, when there is one.
	Issuer string

	// Err is the cause of a rejection or failure, when there is one.
	Err error
}

// emit logs e at level with msg, and hands it to Options.OnEvent.
func (m *Middleware) emit(ctx context.Context, level slog.Level, msg string, e Event) {
	if m.log.Enabled(ctx, level) {
		attrs := []slog.Attr{slog.String("event", string(e.Kind))}
		if e.Reason != "" {
			attrs = append(attrs, slog.String("reason", e.Reason))
		}
		if e.Status != 0 {
			attrs = append(attrs, slog.Int("status", e.Status))
		}
		if e.Kind == EventLogout {
			attrs = append(attrs, slog.Int("sessions", e.Sessions))
		}
		if e.Issuer != "" {
			attrs = append(attrs, slog.String("issuer", e.Issuer))
		}
		if e.Err != nil {
			attrs = append(attrs, slog.String("error", e.Err.Error()))
		}
		m.log.LogAttrs(ctx, level, msg, attrs...)
	}
	if m.opts.OnEvent != nil {
		m.opts.OnEvent(e)
	}
}
