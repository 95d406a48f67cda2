package zenkey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

// Transaction approval: ZenKey can ask the user to approve one sensitive
// action on their phone, showing the action's text, with a PIN or
// biometric (acr a3). RequireApproval puts that in front of a handler.

// approvalLifetime is how long an approval for one action stays usable.
const approvalLifetime = 5 * time.Minute

// An Approval says what a sensitive route needs from the user.
type Approval struct {
	// Context returns the text ZenKey shows while the user approves the
	// request's action, such as "Send $250 to Bob". Required. A text
	// longer than 280 characters, which ZenKey cannot show whole, fails
	// the request with 500: check the user's input that goes into the
	// text before the request reaches RequireApproval.
	Context func(r *http.Request) string

	// ReturnTo returns the local path the user of a posted form comes back
	// to after approving, to submit the form again. Default, or when it
	// returns no local path: the same-origin page the form was posted
	// from, or "/". A form that should come back filled with what was
	// approved can put the values in the path's query, when they are not
	// secrets: they end up in the browser's history and the app's logs.
	// Page loads (GET) always resume at their own URL, or at "/" when
	// that is not a local path.
	ReturnTo func(r *http.Request) string

	// MaxAge lets a request through without asking again when the user
	// approved, or signed in with acr a3, less than MaxAge ago. Default 0:
	// every request needs its own approval of exactly its text, used once.
	MaxAge time.Duration
}

// approvalFlow is the part of a login flow that makes it an approval.
type approvalFlow struct {
	Session string    `json:"session"` // the session's store key
	Context string    `json:"context"`
	Started time.Time `json:"started"`
}

// approvalRecord is an approval kept in the session until it is used.
type approvalRecord struct {
	Hash string    `json:"hash"` // of the approved text
	At   time.Time `json:"at"`
}

var errNotApproved = errors.New("zenkey: the approval does not match the session or action")

// RequireApproval returns next guarded by a fresh approval of the
// request's action on the user's phone (see [Approval]). A signed-out
// browser is treated as by [Middleware.RequireLogin]. A browser loading a
// page is sent to approve and comes back to the same URL. A form post
// cannot be replayed safely: the user gets a page that explains, starts
// the approval and then returns them to the form (see
// [Approval.ReturnTo]) to submit it again. Any other request (an API
// call, XHR or fetch, or a method no form sends) gets a plain-text 403.
//
// RequireApproval panics when a.Context is nil, as [http.Handle] does for
// a nil handler: the mistake shows when the routes are set up.
func (m *Middleware) RequireApproval(a Approval, next http.Handler) http.Handler {
	if a.Context == nil {
		panic("zenkey: RequireApproval: Approval.Context is nil")
	}
	return m.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := SessionFromContext(r.Context())
		text := a.Context(r)
		if n := utf8.RuneCountInString(text); n > maxContextLen {
			m.failTextTooLong(w, r, n)
			return
		}
		ok, err := m.approved(r.Context(), s, text, a.MaxAge)
		switch {
		case err != nil:
			m.fail(w, r, http.StatusServiceUnavailable, reasonStore, err)
		case ok:
			next.ServeHTTP(w, r)
		default:
			m.askApproval(w, r, s, text, a.returnTo(r))
		}
	}))
}

// failTextTooLong refuses an action whose text has n characters, more than
// ZenKey shows. Cutting the text would have the user approve less than the
// whole action, and let two actions that share their first 280 characters
// share one approval. The app built the text, so it is the app's error:
// 500, with the cause logged.
func (m *Middleware) failTextTooLong(w http.ResponseWriter, r *http.Request, n int) {
	m.failWith(w, r, http.StatusInternalServerError, reasonApproval,
		"This action cannot be approved: its description is too long. Nothing was done.",
		fmt.Errorf("zenkey: Approval.Context returned %d characters: ZenKey shows at most %d", n,
			maxContextLen))
}

// returnTo is where the browser comes back to after approving: a page load
// to its own URL, the user of a form to the form; "/" when that is not a
// path on this site. A router that keeps "//evil.example/" as sent would
// otherwise have the approval redirect the browser off the site.
func (a *Approval) returnTo(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if uri := r.URL.RequestURI(); isLocalPath(uri) {
			return uri
		}
		return "/"
	}
	if a.ReturnTo != nil {
		if path := a.ReturnTo(r); isLocalPath(path) {
			return path
		}
	}
	return sameOriginReferer(r)
}

// approved reports whether the session carries an approval for text: a
// strong authentication younger than maxAge, or (maxAge 0) an unused
// approval of exactly text, which it then uses up.
func (m *Middleware) approved(ctx context.Context, s *Session, text string,
	maxAge time.Duration) (bool, error) {
	d, err := s.open()
	if err != nil {
		return false, err
	}
	now := m.now()
	if maxAge > 0 {
		return !d.StrongAuth.IsZero() && now.Sub(d.StrongAuth) < maxAge, nil
	}
	a := d.Approval
	if a == nil || a.Hash != textHash(text) || now.Sub(a.At) >= approvalLifetime {
		return false, nil
	}
	next := *d
	next.Approval = nil
	rec := *s.record()
	if err := m.sealSession(&rec, &next); err != nil {
		return false, err
	}
	if err := m.store.Update(ctx, &rec); errors.Is(err, ErrConflict) {
		return false, nil // used by a concurrent request, or logged out
	} else if err != nil {
		return false, err
	}
	s.replace(&rec, &next)
	return true, nil
}

// authenticatedAt is when the user last authenticated, by the id_token's
// auth_time: a carrier that reused an earlier authentication says so there,
// and MaxAge counts from that one, not from our login. Without auth_time it
// is now; an auth_time ahead of our clock (within ClockLeeway, as
// checkTimes allowed) counts as now, so that it cannot extend MaxAge.
func (m *Middleware) authenticatedAt(v *verifiedToken) time.Time {
	now := m.now()
	at, ok := unixTime(v.claims.AuthTime)
	if !ok || at.After(now) {
		return now
	}
	return at
}

func textHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// askApproval starts an approval flow for the session and the action and
// sends the browser to the provider, or explains. Only a person can
// approve: anything but a browser's page load or form post gets 403 and
// starts nothing, so that a script cannot push a real login out of the
// browser's login cookie.
func (m *Middleware) askApproval(w http.ResponseWriter, r *http.Request, s *Session,
	text, returnTo string) {
	if !isNavigation(r) && !isFormPost(r) {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "zenkey: this action needs the user's approval", http.StatusForbidden)
		return
	}
	target, err := m.startApproval(w, r, s, text, returnTo)
	if reasonOf(err, "") == reasonStore {
		m.fail(w, r, http.StatusServiceUnavailable, reasonStore, err)
		return
	}
	if err != nil {
		m.failProvider(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	approvalPage.Execute(w, map[string]string{"Context": text, "Continue": target})
}

// sameOriginReferer is the local path of the page a form was posted from,
// or "/".
func sameOriginReferer(r *http.Request) string {
	ref := r.Referer()
	u, err := r.URL.Parse(ref)
	if ref == "" || err != nil || u.Host != r.Host || !isLocalPath(u.RequestURI()) {
		return "/"
	}
	return u.RequestURI()
}

// startApproval stores an approval flow and returns the provider's
// authorization URL for it: acr a3, the action's text, a new login. A
// store's failure is told apart (reasonStore) from the provider's.
func (m *Middleware) startApproval(w http.ResponseWriter, r *http.Request, s *Session,
	text, returnTo string) (string, error) {
	d, err := s.open()
	if err != nil {
		return "", reject(reasonStore, "zenkey: approval: %w", err)
	}
	p, err := m.providers.get(r.Context(), d.MCCMNC)
	if err != nil {
		return "", err
	}
	f := &flow{
		Stage: stageAuthorize, ReturnTo: returnTo, Prompt: "login", MCCMNC: d.MCCMNC,
		Nonce: token(randomString(32)), Verifier: token(oauth2.GenerateVerifier()),
		CorrelationID: correlationID(),
		Approval:      &approvalFlow{Session: s.record().Key, Context: text, Started: m.now()},
	}
	state, err := m.createFlow(r.Context(), f)
	if err == nil {
		err = m.bindFlow(w, r, state)
	}
	if err != nil {
		return "", reject(reasonStore, "zenkey: approval: %w", err)
	}
	return m.authorizeURL(p, state, f), nil
}

// finishApproval checks an approval's id_token against its session and
// action, and records the approval in the session.
func (m *Middleware) finishApproval(w http.ResponseWriter, r *http.Request, f *flow,
	v *verifiedToken) {
	ctx := r.Context()
	a := f.Approval
	l := r.Context().Value(ctxKey{}).(*loaded)
	s := l.session
	if l.err != nil {
		m.fail(w, r, http.StatusServiceUnavailable, reasonStore, l.err)
		return
	}
	if s == nil || s.record().Key != a.Session {
		m.fail(w, r, http.StatusBadRequest, reasonApproval, errNotApproved)
		return
	}
	d, err := s.open()
	if err == nil {
		err = m.checkApproval(v, d, a)
	}
	if err != nil {
		m.fail(w, r, http.StatusForbidden, reasonApproval, err)
		return
	}
	next := *d
	next.Approval = &approvalRecord{Hash: textHash(a.Context), At: m.now()}
	next.StrongAuth = m.authenticatedAt(v)
	rec := *s.record()
	err = m.sealSession(&rec, &next)
	if err == nil {
		err = m.store.Update(ctx, &rec)
	}
	if err != nil {
		m.fail(w, r, http.StatusServiceUnavailable, reasonStore, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, f.ReturnTo, http.StatusSeeOther)
}

// checkApproval checks that the approval's token is about the session's
// user, fresh, strong, and (where the carrier echoes it) about the action.
func (m *Middleware) checkApproval(v *verifiedToken, d *sessionData, a *approvalFlow) error {
	if v.token.Issuer != d.Issuer || v.token.Subject != d.Subject {
		return reject(reasonApproval, "zenkey: approval by another user")
	}
	at, ok := unixTime(v.claims.AuthTime)
	if !ok || at.Before(a.Started.Add(-m.opts.ClockLeeway).Truncate(time.Second)) {
		return reject(reasonApproval, "zenkey: approval token shows no fresh authentication")
	}
	if m.opts.Issuer == "" && v.claims.ACR != "a3" {
		return reject(reasonApproval, "zenkey: approval was not made with a3 (PIN or biometric)")
	}
	var echo struct {
		Context *string `json:"context"`
	}
	if err := json.Unmarshal(v.claims.raw, &echo); err == nil && echo.Context != nil &&
		*echo.Context != a.Context {
		return reject(reasonApproval, "zenkey: approval was for another action")
	}
	return nil
}

var approvalPage = template.Must(template.New("approval").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Approval needed</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;
  padding:0 1rem;color:#222}
a.button{display:inline-block;background:#0b5c4d;color:#fff;padding:.6rem 1rem;
  border-radius:.4rem;text-decoration:none}
blockquote{border-left:3px solid #ccc;margin:1rem 0;padding-left:1rem}</style></head>
<body><h1>Approve this on your phone</h1>
<blockquote>{{.Context}}</blockquote>
<p>Nothing was done yet. After you approve, you come back to the form: submit it again.</p>
<p><a class="button" href="{{.Continue}}">Approve with ZenKey</a></p></body></html>
`))
