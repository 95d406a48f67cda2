package zenkey

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Client returns an HTTP client that calls the app's APIs as the session's
// user: each request gets "Authorization: Bearer" with a valid access token
// (refreshed first when needed) and, with Options.IDTokenHeader, the
// id_token. Requests go only to Options.APIOrigins: a request to any other
// origin, including one a redirect leads to, fails before anything is sent.
// The client uses the transport of Options.HTTPClient.
func (s *Session) Client() *http.Client {
	return &http.Client{
		Transport: &tokenTransport{s: s, base: s.m.transport()},
		Timeout:   s.m.opts.HTTPClient.Timeout,
	}
}

func (m *Middleware) transport() http.RoundTripper {
	if t := m.opts.HTTPClient.Transport; t != nil {
		return t
	}
	return http.DefaultTransport
}

// tokenTransport adds the session's tokens to requests for allowed origins
// and refuses every other request.
type tokenTransport struct {
	s    *Session
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper. The base transport closes the
// request body, possibly after it returned: the body may still stream to
// an API that answered first. RoundTrip closes it itself only when it
// refuses the request.
func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.s.m.allowedOrigin(req.URL) {
		closeBody(req)
		return nil, fmt.Errorf("zenkey: refusing to send the session's token to %s: "+
			"not in Options.APIOrigins", origin(req.URL))
	}
	d, err := t.s.fresh(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	out := req.Clone(req.Context())
	setTokenHeaders(out.Header, d, t.s.m.opts.IDTokenHeader)
	return t.base.RoundTrip(out)
}

// closeBody closes the body of a request that will not be sent, as a
// RoundTripper must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// setTokenHeaders puts the session's tokens in h, replacing whatever
// credentials were there.
func setTokenHeaders(h http.Header, d *sessionData, idTokenHeader string) {
	h.Set("Authorization", "Bearer "+string(d.AccessToken))
	if idTokenHeader != "" {
		h.Set(idTokenHeader, string(d.IDToken))
	}
}

// allowedOrigin reports whether u's origin is one of Options.APIOrigins.
func (m *Middleware) allowedOrigin(u *url.URL) bool {
	o := origin(u)
	for _, allowed := range m.opts.APIOrigins {
		if a, err := url.Parse(allowed); err == nil && origin(a) == o {
			return true
		}
	}
	return false
}

// origin returns u's scheme, host and port, normalized: lower case, with
// the scheme's default port made explicit.
func origin(u *url.URL) string {
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + ":" + port
}
