package zenkey

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
)

// serveLogout logs the browser out: POST LogoutPath. Cross-origin requests
// are refused before it runs (http.CrossOriginProtection). The session is
// destroyed in the store first; only when the store confirmed it is the
// cookie cleared and the browser told it is signed out. If the store
// cannot confirm, the answer is 503 and the cookie is kept, so that a retry
// can finish the job.
//
// With Options.AllowLogoutEverywhere, a form field everywhere=1 ends every
// session of the user instead. With Options.ProviderLogout and a provider
// that publishes an end_session_endpoint, the browser is then sent there.
func (m *Middleware) serveLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "zenkey: logout takes POST", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	everywhere := m.opts.AllowLogoutEverywhere && r.PostFormValue("everywhere") == "1"
	d, err := m.logout(r.Context(), r, everywhere)
	if errors.Is(err, errEverywhereUnknown) {
		clearSessionCookie(w) // this browser's session is gone either way
		m.failWith(w, r, http.StatusConflict, reasonNoSession, "Your session here had "+
			"already ended, so your other devices are still signed in. Sign in again, "+
			"then sign out everywhere.", err)
		return
	}
	if err != nil {
		m.fail(w, r, http.StatusServiceUnavailable, reasonStore, err)
		return
	}
	clearSessionCookie(w)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Clear-Site-Data", `"cache"`)
	http.Redirect(w, r, m.afterLogoutURL(r.Context(), d), http.StatusSeeOther)
}

// Logout destroys the session of the browser that sent r, if it has one,
// and returns nil only once the store confirmed the deletion; then it
// revokes the session's tokens at the provider, in the background. It does
// not touch the response: the caller clears the cookie (the logout path
// does both).
func (m *Middleware) Logout(ctx context.Context, r *http.Request) error {
	_, err := m.logout(ctx, r, false)
	return err
}

// logout destroys the browser's session (or, everywhere, all of its
// user's) and returns the destroyed session's data when it could be read.
func (m *Middleware) logout(ctx context.Context, r *http.Request,
	everywhere bool) (*sessionData, error) {
	key := m.sessionKey(r, m.now())
	if key == "" && everywhere {
		return nil, errEverywhereUnknown
	}
	if key == "" {
		return nil, nil
	}
	d, err := m.peek(ctx, key)
	if everywhere {
		return d, m.logoutEverywhere(ctx, key, d, err)
	}
	if err := m.store.Delete(ctx, key); err != nil {
		return nil, errors.Join(errors.New("zenkey: logout not confirmed by the store"), err)
	}
	m.emit(ctx, slog.LevelInfo, "zenkey: signed out", Event{Kind: EventLogout, Reason: "local",
		Sessions: 1})
	m.revokeEnded(key, d)
	return d, nil
}

// revokeEnded revokes the tokens of a session the store has deleted: d's,
// and those of a refresh result this instance kept for it while the store
// was down (see unsavedRefreshes), which no record holds. Without d, the
// session's provider is unknown, and the kept result is only forgotten.
func (m *Middleware) revokeEnded(key string, d *sessionData) {
	change := m.unsaved.forget(key)
	if d == nil {
		return
	}
	m.revokeLater(d)
	if change != nil {
		next := *d
		change(&next)
		m.revokeLater(&next)
	}
}

// errEverywhereUnknown means "log out everywhere" came from a browser whose
// own session had already ended (or does not open): who its user was is
// unknown, so their other sessions cannot be found.
var errEverywhereUnknown = errors.New(
	"zenkey: logout everywhere: the browser's session had already ended")

// logoutEverywhere destroys every session of d's user, then the browser's
// own session. The subject is needed first: when the store cannot say it
// (peekErr), the cookie must stay for a retry that can; when the session
// is gone, nothing tells whose other sessions to end, and saying "signed
// out everywhere" would be a lie.
func (m *Middleware) logoutEverywhere(ctx context.Context, key string, d *sessionData,
	peekErr error) error {
	if peekErr != nil {
		return errors.Join(errors.New("zenkey: logout everywhere: session unreadable"), peekErr)
	}
	if d == nil {
		if err := m.store.Delete(ctx, key); err != nil {
			return errors.Join(errors.New("zenkey: logout not confirmed by the store"), err)
		}
		return errEverywhereUnknown
	}
	n, err := m.logoutSubject(ctx, d.Subject)
	if err != nil {
		return err
	}
	if err := m.store.Delete(ctx, key); err != nil {
		return errors.Join(errors.New("zenkey: logout not confirmed by the store"), err)
	}
	m.emit(ctx, slog.LevelInfo, "zenkey: signed out everywhere",
		Event{Kind: EventLogout, Reason: "everywhere", Sessions: n})
	m.revokeEnded(key, d)
	return nil
}

// peek reads a session's data, for revocation and "everywhere". It returns
// nil when the session is gone or does not open, and an error only when
// the store failed: a plain logout deletes the session all the same.
func (m *Middleware) peek(ctx context.Context, key string) (*sessionData, error) {
	rec, err := m.store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d, err := m.openSession(rec)
	if err != nil || !rec.Live(m.now()) {
		return nil, nil
	}
	return d, nil
}

// LogoutSubject destroys every session of the user with the given subject,
// on every app instance sharing the store ("log out everywhere"), and
// reports how many it destroyed. Their refresh tokens are not revoked at
// the provider (the store cannot list them), but no one can use them: only
// this app could decrypt them, and their records are gone.
func (m *Middleware) LogoutSubject(ctx context.Context, subject string) (int, error) {
	n, err := m.logoutSubject(ctx, subject)
	if err != nil {
		return n, err
	}
	m.emit(ctx, slog.LevelInfo, "zenkey: signed out everywhere",
		Event{Kind: EventLogout, Reason: "subject", Sessions: n})
	return n, nil
}

// logoutSubject is LogoutSubject without its event, for the logouts that
// report their own.
func (m *Middleware) logoutSubject(ctx context.Context, subject string) (int, error) {
	total := 0
	for _, hash := range m.keys.indexHashes(indexSubject, subject) {
		n, err := m.store.DeleteSubject(ctx, hash)
		total += n
		if err != nil {
			return total, errors.Join(
				errors.New("zenkey: logout everywhere not confirmed by the store"), err)
		}
	}
	return total, nil
}

// afterLogoutURL is where the browser goes after logout: the provider's
// end_session_endpoint with Options.ProviderLogout, else AfterLogoutURL.
//
// The request names the client (client_id) rather than the user
// (id_token_hint): a token never travels in a URL.
func (m *Middleware) afterLogoutURL(ctx context.Context, d *sessionData) string {
	if !m.opts.ProviderLogout || d == nil {
		return m.opts.AfterLogoutURL
	}
	p, err := m.providers.get(ctx, d.MCCMNC)
	if err != nil || p.endSessionURL == "" {
		return m.opts.AfterLogoutURL
	}
	back, _ := url.Parse(m.opts.RedirectURL)
	back = back.ResolveReference(&url.URL{Path: m.opts.AfterLogoutURL})
	q := url.Values{
		"client_id":                {m.opts.ClientID},
		"post_logout_redirect_uri": {back.String()},
		"state":                    {randomString(16)},
	}
	return addQueryValues(p.endSessionURL, q)
}
