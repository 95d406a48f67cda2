package zenkey_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// TestCallbackStateIsSingleUseInTheStore replays a callback with the login
// cookie as it was before the first callback, which still lists the state:
// only the store's single use of the flow (its state and nonce) stops the
// code from being redeemed twice.
func TestCallbackStateIsSingleUseInTheStore(t *testing.T) {
	h := newHarness(t, nil)
	cb := h.callbackURL(h.browser)
	u, _ := url.Parse(h.app.URL)
	before := h.browser.Jar.Cookies(u)

	first := h.do(h.browser, http.MethodGet, cb.String(), true)
	require.Equal(t, http.StatusOK, first.status)

	replayer := h.newBrowser()
	replayer.Jar.SetCookies(u, before)
	replay := h.do(replayer, http.MethodGet, cb.String(), true)

	assert.Equal(t, http.StatusBadRequest, replay.status, replay.body)
	assert.Equal(t, 1, h.idp.Calls(zenkeytest.Token), "the replayed code is never redeemed")
	assert.False(t, h.signedIn(replayer))
}

// TestAuthorizeRequestCarriesZenKeyParameters checks what the provider's
// authorization request carries besides the code flow's own parameters.
func TestAuthorizeRequestCarriesZenKeyParameters(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(*zenkey.Options)
		setup      func(*harness)
		login      string // the login path requested
		param, val string // "" val: the parameter must be absent
	}{
		{"login_hint_token from discovery", nil,
			func(h *harness) { h.idp.SetLoginHintToken("hint-from-discovery") },
			"/auth/login", "login_hint_token", "hint-from-discovery"},
		{"no login_hint_token without one", nil, nil, "/auth/login", "login_hint_token", ""},
		{"prompt=consent", nil, nil, "/auth/login?prompt=consent", "prompt", "consent"},
		{"prompt=login", nil, nil, "/auth/login?prompt=login", "prompt", "login"},
		{"unknown prompt left out", nil, nil, "/auth/login?prompt=select_account", "prompt", ""},
		{"Options.Context", func(o *zenkey.Options) { o.Context = "Sign in to Example Bank" }, nil,
			"/auth/login", "context", "Sign in to Example Bank"},
		{"no context by default", nil, nil, "/auth/login", "context", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.edit)
			if tt.setup != nil {
				tt.setup(h)
			}

			h.do(h.browser, http.MethodGet, tt.login, true)

			q := h.idp.LastAuthorize()
			require.NotNil(t, q, "the provider was asked")
			assert.Equal(t, tt.val, q.Get(tt.param))
			assert.Equal(t, tt.val != "", q.Has(tt.param))
		})
	}
}

// TestRequireLoginRedirectsBrowserPageLoadsOnly: only a browser loading a
// page is sent to login; a script, even one that accepts HTML, gets 401,
// which it can handle, rather than a redirect it would follow blindly.
func TestRequireLoginRedirectsBrowserPageLoadsOnly(t *testing.T) {
	type headers = map[string]string
	tests := []struct {
		name    string
		method  string
		headers headers
		want    int
	}{
		{"page load", http.MethodGet, headers{"Accept": "text/html"}, http.StatusSeeOther},
		{"page load with fetch metadata", http.MethodGet,
			headers{"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}, http.StatusSeeOther},
		{"XHR accepting HTML", http.MethodGet,
			headers{"Accept": "text/html", "X-Requested-With": "XMLHttpRequest"},
			http.StatusUnauthorized},
		{"fetch accepting HTML", http.MethodGet,
			headers{"Accept": "text/html", "Sec-Fetch-Mode": "cors"}, http.StatusUnauthorized},
		{"API call", http.MethodGet, headers{"Accept": "application/json"},
			http.StatusUnauthorized},
		{"form post", http.MethodPost, headers{"Accept": "text/html"}, http.StatusUnauthorized},
	}
	h := newHarness(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := h.send(noRedirects(h.browser), tt.method, "/profile", tt.headers)
			assert.Equal(t, tt.want, p.status, p.body)
		})
	}
}

// send sends a request from browser b with exactly the headers given.
func (h *harness) send(b *http.Client, method, path string, headers map[string]string) page {
	h.t.Helper()
	req, err := http.NewRequest(method, h.app.URL+path, nil)
	require.NoError(h.t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return h.fetch(b, req)
}
