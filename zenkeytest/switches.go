package zenkeytest

import (
	"crypto/rsa"
	"time"
)

// switches is the misbehaviour a test has asked for. Its zero value is a
// provider that behaves.
type switches struct {
	faults      map[Endpoint]fault
	delays      map[Endpoint]time.Duration
	editClaims  func(claims map[string]any)
	editIDToken func(jwt string) string
	rogueKey    *rsa.PrivateKey // signs instead of the published key when set
	hideKeys    bool            // the JWKS publishes no key

	noContextEcho bool // the id_token leaves out the authorization's context

	tokenError                string
	authorizeError            string
	authorizeErrorDescription string
}

// Heal makes the provider behave again: it removes every failure,
// misbehaviour, delay and error set by [Server.Fail], [Server.Misbehave],
// [Server.Delay], [Server.SetTokenError] and [Server.SetAuthorizeError], and
// every edit set by [Server.EditClaims], [Server.EditIDToken],
// [Server.SignWithUnpublishedKey] and [Server.HideKeys], and turns
// [Server.EchoContext] back on. The subject, login hint token, user info,
// signing keys, client key and previous carriers stay as they are, and so do
// the counts of [Server.Calls] and [Server.Sent].
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sw = switches{}
}

// EditClaims makes the token endpoint pass the claims of every later id_token
// to edit before it signs them: tests use it for a wrong iss, aud or nonce, an
// expired token or another sub on refresh. edit runs without the server's lock
// held, on the request's goroutine. A nil edit removes it.
func (s *Server) EditClaims(edit func(claims map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sw.editClaims = edit
}

// EditIDToken makes the token endpoint pass every later id_token, signed and in
// compact serialization, to edit and send what it returns: tests use it to add
// a line break or turn the token into the JWS JSON serialization. edit runs
// without the server's lock held. A nil edit removes it.
func (s *Server) EditIDToken(edit func(jwt string) string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sw.editIDToken = edit
}

// EchoContext sets whether the id_token of a login whose authorization
// request had a context carries the same text in a "context" claim, as ZenKey
// does to show what the user approved (a payment, say). It is on by default;
// tests turn it off for a carrier that drops the echo. It applies to every
// id_token issued later, refreshed ones included, and [Server.Heal] turns it
// back on.
func (s *Server) EchoContext(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sw.noContextEcho = !on
}

// SetTokenError makes the token endpoint answer every later request with the
// OAuth error code, such as "invalid_grant", before it looks at the grant: a
// code or refresh token sent meanwhile stays usable. The status is 401 for
// "invalid_client" and 400 otherwise. An empty code clears it.
func (s *Server) SetTokenError(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sw.tokenError = code
}

// SetAuthorizeError makes the authorize endpoint answer every later valid
// request with a redirect that carries error and error_description instead of
// a code, such as ZenKey's "user_not_found". An empty code clears it.
func (s *Server) SetAuthorizeError(code, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sw.authorizeError = code
	s.sw.authorizeErrorDescription = description
}

// SetSubject sets the sub of later logins: every token issued from a login
// keeps the sub it started with, refreshes included (use [Server.EditClaims]
// to change the sub on refresh).
func (s *Server) SetSubject(sub string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subject = sub
}

// SetLoginHintToken makes the discovery UI return tok as login_hint_token, as
// ZenKey does when the user continues on a secondary device. An empty tok
// stops it.
func (s *Server) SetLoginHintToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loginHintToken = tok
}
