package zenkey

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// APIProxy returns a backend-for-frontend handler: browser requests under
// prefix (such as "/api/") are forwarded to upstream with the prefix
// removed and the session's access token in "Authorization: Bearer", so a
// single-page app calls its API without ever holding a token.
//
// The browser's cookies and any Authorization header it sent are stripped,
// and Set-Cookie is stripped from the answers. Without a session the answer
// is 401 (never a redirect). State-changing requests must be same-origin
// (http.CrossOriginProtection) and carry an "X-Requested-With" header, which
// a cross-site form cannot send. Bodies stream both ways.
//
//	mux.Handle("/api/", zk.APIProxy("/api/", upstream))
func (m *Middleware) APIProxy(prefix string, upstream *url.URL) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Path = upstreamPath(pr.In.URL.Path, prefix)
			pr.Out.URL.RawPath = ""
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
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.serveProxy(w, r, rp)
	})
	return http.NewCrossOriginProtection().Handler(h)
}

// upstreamPath is path with prefix removed, as an absolute path: the
// prefix may be written with or without its trailing slash.
func upstreamPath(path, prefix string) string {
	return "/" + strings.TrimPrefix(strings.TrimPrefix(path, prefix), "/")
}

type proxyDataKey struct{}

func (m *Middleware) serveProxy(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) {
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
		status := http.StatusBadGateway
		if errors.Is(err, ErrSessionEnded) || errors.Is(err, ErrNoRefreshToken) {
			status = http.StatusUnauthorized
		}
		m.failAPI(w, r, status, reasonOf(err, reasonRefresh), err)
		return
	}
	rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), proxyDataKey{}, d)))
}

func safeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// failAPI answers an API request that cannot be served: plain text, never
// a redirect or a page.
func (m *Middleware) failAPI(w http.ResponseWriter, r *http.Request, status int, reason string, cause error) {
	m.logRefusal(r.Context(), status, reason, cause)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "zenkey: "+http.StatusText(status), status)
}
