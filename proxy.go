package zenkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// reasonBadPath is the reason code of an API path that could leave the
// upstream's base path; the others are in errors.go.
const reasonBadPath = "bad_api_path"

// APIProxy returns a backend-for-frontend handler: browser requests under
// prefix (such as "/api/") are forwarded to upstream with the prefix
// removed and the session's access token in "Authorization: Bearer", so a
// single-page app calls its API without ever holding a token.
//
// The browser's cookies and any Authorization header it sent are stripped,
// and Set-Cookie is stripped from the answers. Without a session the answer
// is 401 (never a redirect). State-changing requests must be same-origin
// (http.CrossOriginProtection) and carry an "X-Requested-With" header, which
// a cross-site form cannot send. A path with a "." or ".." segment, an
// encoded slash or a backslash is refused with 400: the upstream could
// resolve it out of its base path. Other paths are forwarded as the browser
// wrote them. Bodies stream both ways.
//
// APIProxy panics if upstream is nil, or if its origin is one that
// Options.APIOrigins refuses (plain http is allowed only on localhost):
// the token must not travel in clear text.
//
//	mux.Handle("/api/", zk.APIProxy("/api/", upstream))
func (m *Middleware) APIProxy(prefix string, upstream *url.URL) http.Handler {
	checkUpstream(upstream)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Path = upstreamPath(pr.In.URL.Path, prefix)
			// The browser's encoding goes upstream as written. EscapedPath
			// uses it only if it is a valid encoding of Path: a prefix
			// escaped otherwise falls back to Path's canonical encoding.
			pr.Out.URL.RawPath = upstreamPath(pr.In.URL.RawPath, prefix)
			pr.SetURL(upstream)
			pr.SetXForwarded()
			pr.Out.Header.Del("Cookie")
			pr.Out.Header.Del("Authorization")
			d := pr.In.Context().Value(proxyDataKey{}).(*sessionData)
			setTokenHeaders(pr.Out.Header, d, m.opts.IDTokenHeader)
		},
		Transport: m.transport(),
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Del("Set-Cookie")
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			m.failAPI(w, r, http.StatusBadGateway, reasonUpstream, err)
		},
		// Without it, an answer broken off after its headers is reported
		// to the standard log: a nil Options.Logger must mean silence.
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelError),
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.serveProxy(w, r, rp)
	})
	return http.NewCrossOriginProtection().Handler(h)
}

// checkUpstream panics unless upstream's origin is one Options.APIOrigins
// accepts: APIProxy sends the session's tokens there.
func checkUpstream(upstream *url.URL) {
	if upstream == nil {
		panic("zenkey: APIProxy: nil upstream")
	}
	o := &url.URL{Scheme: upstream.Scheme, Host: upstream.Host}
	if err := checkOrigin(o.String()); err != nil {
		panic(fmt.Sprintf("zenkey: APIProxy: upstream refused by the rule of APIOrigins: %v", err))
	}
}

// upstreamPath is path with prefix removed, as an absolute path: the
// prefix may be written with or without its trailing slash. An empty path
// stays empty.
func upstreamPath(path, prefix string) string {
	if path == "" {
		return ""
	}
	return "/" + strings.TrimPrefix(strings.TrimPrefix(path, prefix), "/")
}

// forwardable reports whether u's path can go upstream as it is. A "." or
// ".." segment (decoded: "%2e%2e" counts) would be resolved by the upstream
// or a server in front of it, out of the upstream's base path. An encoded
// slash hides a segment from this check, and a backslash is a separator to
// some servers.
func forwardable(u *url.URL) bool {
	// A path sent with "%2f" always has a RawPath: its canonical encoding
	// would be "/".
	if strings.Contains(strings.ToLower(u.RawPath), "%2f") || strings.Contains(u.Path, `\`) {
		return false
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

type proxyDataKey struct{}

// serveProxy checks an API request and its session, refreshes the
// session's tokens when needed, and hands the request to rp.
func (m *Middleware) serveProxy(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) {
	if !forwardable(r.URL) {
		m.failAPI(w, r, http.StatusBadRequest, reasonBadPath,
			errors.New("zenkey: API path with a dot segment, an encoded slash or a backslash"))
		return
	}
	r = m.withSession(r)
	l := r.Context().Value(ctxKey{}).(*loaded)
	switch {
	case l.err != nil:
		m.failAPI(w, r, http.StatusServiceUnavailable, reasonStore, l.err)
		return
	case l.session == nil:
		m.failAPI(w, r, http.StatusUnauthorized, reasonNoSession, nil)
		return
	case !safeMethod(r.Method) && r.Header.Get("X-Requested-With") == "":
		m.failAPI(w, r, http.StatusForbidden, reasonCrossSite,
			errors.New("zenkey: state-changing API request without X-Requested-With"))
		return
	}
	d, err := l.session.fresh(r.Context())
	if err != nil {
		status, reason := refreshFailure(err)
		m.failAPI(w, r, status, reason, err)
		return
	}
	rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), proxyDataKey{}, d)))
}

// refreshFailure returns the status and reason code for an error of
// Session.fresh: 401 when the session is over, 502 when the provider
// failed, 503 when the store did.
func refreshFailure(err error) (int, string) {
	var unreachable *url.Error
	switch {
	case errors.Is(err, ErrSessionEnded), errors.Is(err, ErrNoRefreshToken):
		return http.StatusUnauthorized, reasonOf(err, reasonRefresh)
	case errors.Is(err, errVaultOpen):
		return http.StatusUnauthorized, reasonVault
	case errors.Is(err, ErrProviderNotFound):
		return http.StatusBadGateway, reasonProviderNotFound
	case errors.As(err, &unreachable):
		// Only an HTTP client makes a url.Error, never a store of this
		// package: the provider's discovery could not be reached.
		return http.StatusBadGateway, reasonProviderDown
	}
	// The provider's failures carry their reason. The store's errors are
	// the stores' own, with none.
	if reason := reasonOf(err, reasonStore); reason != reasonStore {
		return http.StatusBadGateway, reason
	}
	return http.StatusServiceUnavailable, reasonStore
}

// safeMethod reports whether method cannot change state by the HTTP rules,
// so an API request with it needs no X-Requested-With.
func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// failAPI answers an API request that cannot be served: plain text, never
// a redirect or a page.
func (m *Middleware) failAPI(w http.ResponseWriter, r *http.Request, status int, reason string,
	cause error) {
	m.logRefusal(r.Context(), status, reason, cause)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "zenkey: "+http.StatusText(status), status)
}
