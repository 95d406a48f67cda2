package zenkey

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// touchEvery coalesces last-seen writes: a session is written at most once
// in this interval by ordinary requests, so a read-mostly app costs one
// store read per request.
const touchEvery = time.Minute

// A Middleware signs users in with ZenKey and loads their session on every
// request. Create one with [New]; it is safe for concurrent use.
type Middleware struct {
	opts         Options
	store        Store
	keys         keyring
	log          *slog.Logger
	now          func() time.Time
	callbackPath string
	// backchannelPath is served with Options.Issuer only: ZenKey sends no
	// back-channel logout.
	backchannelPath string
	providers       *providerCache
	tokenClient     *http.Client // token and revocation calls: adds client assertions
	flights         flights
	unsaved         unsavedRefreshes
	verified        verifiedCookies
	revocations     sync.WaitGroup
	logoutHandler   http.Handler
}

// New validates opts and returns a middleware. The error lists every
// mistake in opts, each with what to change.
func New(opts Options) (*Middleware, error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	keys, err := newKeyring(o.SecretKey, o.PreviousSecretKeys, int(o.AbsoluteTimeout/time.Second))
	if err != nil {
		return nil, err
	}
	redirect, _ := url.Parse(o.RedirectURL) // validated, with a path
	m := &Middleware{
		opts:         o,
		store:        o.Store,
		keys:         keys,
		log:          o.Logger,
		now:          o.Now,
		callbackPath: redirect.Path,
		verified:     newVerifiedCookies(),
	}
	if o.Issuer != "" {
		m.backchannelPath = o.BackchannelLogoutPath
	}
	if m.tokenClient, err = m.newTokenClient(); err != nil {
		return nil, err
	}
	if m.store == nil {
		m.store = NewMemoryStore()
	}
	m.store = timeoutStore{m.store, o.StoreTimeout}
	m.providers = newProviderCache(m)
	m.logoutHandler = http.NewCrossOriginProtection().Handler(http.HandlerFunc(m.serveLogout))
	return m, nil
}

// Handler returns next wrapped by the middleware: it serves the login,
// callback and logout paths, and for every other request loads the
// browser's session (at most once) into the request's context, where
// [SessionFromContext] finds it. It does not refuse anyone: wrap protected
// handlers with [Middleware.RequireLogin].
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.serveAuth(w, r) {
			next.ServeHTTP(w, m.withSession(r))
		}
	})
}

// AuthRoutes returns a handler for the middleware's own paths alone (login,
// callback, logout, back-channel logout), answering 404 to any other path.
// Routers that mount handlers per path use it with [Middleware.LoadSession]
// instead of [Middleware.Handler].
func (m *Middleware) AuthRoutes() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.serveAuth(w, r) {
			http.NotFound(w, r)
		}
	})
}

// Paths returns the paths [Middleware.AuthRoutes] serves.
func (m *Middleware) Paths() []string {
	paths := []string{m.opts.LoginPath, m.callbackPath, m.opts.LogoutPath}
	if m.backchannelPath != "" {
		paths = append(paths, m.backchannelPath)
	}
	return paths
}

// LoadSession returns next with the browser's session loaded into the
// request's context, like [Middleware.Handler] but serving no path of its
// own.
func (m *Middleware) LoadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, m.withSession(r))
	})
}

// serveAuth serves r if its path is one of the middleware's own, and
// reports whether it did.
func (m *Middleware) serveAuth(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case m.opts.LoginPath:
		m.serveLogin(w, r)
	case m.callbackPath:
		m.serveCallback(w, r)
	case m.opts.LogoutPath:
		m.logoutHandler.ServeHTTP(w, r)
	case m.backchannelPath:
		if m.backchannelPath == "" {
			return false
		}
		m.serveBackchannelLogout(w, r)
	default:
		return false
	}
	return true
}

// RequireLogin returns next guarded by a signed-in check. A browser
// navigation without a session is sent to login and comes back to the same
// path afterwards; API calls, XHR and non-GET requests get 401 instead. If
// the store fails, the answer is 503: never access, never a false
// "signed out".
func (m *Middleware) RequireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = m.withSession(r)
		l := r.Context().Value(ctxKey{}).(*loaded)
		switch {
		case l.err != nil:
			m.fail(w, r, http.StatusServiceUnavailable, reasonStore, l.err)
		case l.session != nil:
			next.ServeHTTP(w, r)
		case isNavigation(r):
			m.redirectToLogin(w, r)
		default:
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "zenkey: sign-in required", http.StatusUnauthorized)
		}
	})
}

// withSession returns r with the session loaded into its context, unless an
// earlier wrapper already did it.
func (m *Middleware) withSession(r *http.Request) *http.Request {
	if _, ok := r.Context().Value(ctxKey{}).(*loaded); ok {
		return r
	}
	l := &loaded{}
	l.err = m.load(r, l)
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, l))
}

// load finds the browser's live session and, if there is one, puts it in
// l. A missing, forged or stale cookie is simply no session; only a store
// failure is an error.
func (m *Middleware) load(r *http.Request, l *loaded) error {
	now := m.now()
	key := m.sessionKey(r, now)
	if key == "" {
		return nil
	}
	rec, err := m.store.Get(r.Context(), key)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		m.emit(r.Context(), slog.LevelError, "zenkey: store read failed",
			Event{Kind: EventStoreError, Reason: reasonStore, Err: err})
		return err
	}
	if !rec.Live(now) {
		return nil
	}
	l.s.m, l.s.rec = m, rec
	l.session = &l.s
	// A refresh holding the lease is about to write the record: a touch
	// now would only make that write try again. The next request touches.
	if now.Sub(rec.LastSeen) >= touchEvery && !rec.LeaseUntil.After(now) {
		m.touch(r.Context(), l.session, now)
	}
	return nil
}

// touch moves the session's idle deadline forward. It is conditional on the
// version read, so it can never bring back a session logged out meanwhile;
// losing the race to another request is fine.
func (m *Middleware) touch(ctx context.Context, s *Session, now time.Time) {
	rec := *s.record()
	rec.LastSeen = now
	rec.IdleDeadline = minTime(now.Add(m.opts.IdleTimeout), rec.AbsoluteDeadline)
	if err := m.reseal(&rec); err != nil {
		m.emit(ctx, slog.LevelWarn, "zenkey: session record does not open",
			Event{Kind: EventStoreError, Reason: reasonVault, Err: err})
		return
	}
	err := m.store.Update(ctx, &rec)
	if err != nil && !errors.Is(err, ErrConflict) {
		m.emit(ctx, slog.LevelWarn, "zenkey: session touch failed",
			Event{Kind: EventStoreError, Reason: reasonStore, Err: err})
		return
	}
	if err == nil {
		s.replace(&rec, nil)
	}
}

// reseal seals a record again under the current master secret when it was
// sealed under a previous one.
func (m *Middleware) reseal(rec *Record) error {
	plain, stale, err := m.keys.open(rec.Key, rec.Blob)
	if err != nil {
		return err
	}
	if stale {
		rec.Blob = m.keys.seal(rec.Key, plain)
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// isNavigation reports whether r is a browser loading a page, which may be
// redirected to login, as opposed to a script or API client.
func isNavigation(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && fromBrowserPage(r)
}

// isFormPost reports whether r is a browser submitting a form, which may be
// answered with a page for the user.
func isFormPost(r *http.Request) bool {
	return r.Method == http.MethodPost && fromBrowserPage(r)
}

// fromBrowserPage reports whether r would show its answer as the browser's
// page: it accepts HTML, no script marked it as its own (X-Requested-With),
// and its fetch metadata, which browsers send and scripts cannot forge
// from a page, says it is a navigation when it is there.
func fromBrowserPage(r *http.Request) bool {
	if r.Header.Get("X-Requested-With") != "" {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" && mode != "navigate" {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// redirectToLogin sends the browser to the login path, to come back to the
// page it asked for.
func (m *Middleware) redirectToLogin(w http.ResponseWriter, r *http.Request) {
	target := m.opts.LoginPath
	if rt := r.URL.RequestURI(); isLocalPath(rt) && rt != "/" {
		target += "?return_to=" + url.QueryEscape(rt)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
}
