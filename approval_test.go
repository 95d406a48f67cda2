package zenkey_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

const transferText = "Send $250 to Bob"

// transferRoutes adds a form page and a transfer that needs approval.
func (h *harness) transferRoutes(maxAge time.Duration) {
	h.mux.Handle("GET /transfer", h.zk.RequireLogin(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "transfer form") })))
	h.mux.Handle("POST /transfer", h.zk.RequireApproval(zenkey.Approval{
		Context: func(*http.Request) string { return transferText },
		MaxAge:  maxAge,
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w,
			"sent")
	})))
	h.mux.Handle("GET /statement", h.zk.RequireApproval(zenkey.Approval{
		Context: func(*http.Request) string { return "Show my statement" },
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w,
			"statement")
	})))
}

// postTransfer submits the transfer form from its page.
func (h *harness) postTransfer() page {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.app.URL+"/transfer",
		strings.NewReader("amount=250"))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Origin", h.app.URL)
	req.Header.Set("Referer", h.app.URL+"/transfer")
	resp, err := h.browser.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Request.URL, string(body), resp.Header}
}

// approveFromPage follows the approval page's link through the provider.
func (h *harness) approveFromPage(p page) page {
	h.t.Helper()
	start := strings.Index(p.body, `href="`)
	require.GreaterOrEqual(h.t, start, 0, p.body)
	link := p.body[start+len(`href="`):]
	link = html.UnescapeString(link[:strings.IndexByte(link, '"')])
	return h.do(h.browser, http.MethodGet, link, true)
}

func TestApprovalOfOneFormPost(t *testing.T) {
	h := newHarness(t, nil)
	h.transferRoutes(0)
	h.login()

	asked := h.postTransfer()
	require.Equal(t, http.StatusForbidden, asked.status)
	assert.Contains(t, asked.body, transferText, "the page says what will be approved")
	assert.Contains(t, asked.body, "Nothing was done yet")

	back := h.approveFromPage(asked)
	assert.Equal(t, "transfer form", back.body, "back at the form to submit again")
	auth := h.idp.LastAuthorize()
	assert.Equal(t, "a3", auth.Get("acr_values"))
	assert.Equal(t, transferText, auth.Get("context"))
	assert.Equal(t, "login", auth.Get("prompt"))

	assert.Equal(t, "sent", h.postTransfer().body)
	assert.Equal(t, http.StatusForbidden, h.postTransfer().status, "an approval is used once")
}

func TestApprovalResumesAPageLoad(t *testing.T) {
	h := newHarness(t, nil)
	h.transferRoutes(0)
	h.login()

	p := h.do(h.browser, http.MethodGet, "/statement", true)

	assert.Equal(t, "statement", p.body)
	assert.Equal(t, "/statement", p.url.Path)
	assert.Equal(t, "Show my statement", h.idp.LastAuthorize().Get("context"))
	assert.Equal(t, http.StatusForbidden, h.do(h.browser, http.MethodGet, "/statement",
		false).status,
		"an API call is refused, not redirected")
}

func TestApprovalRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
	}{
		{"another user", editClaims(func(c map[string]any) { c["sub"] = "310999-mallory" })},
		{"another action", editClaims(func(c map[string]any) {
			c["context"] = "Send $9999 to Eve"
		})},
		{"old authentication", func(h *harness) {
			h.idp.EditClaims(func(c map[string]any) {
				c["auth_time"] = h.clock.Now().Add(-time.Hour).Unix()
			})
		}},
		{"weaker acr", editClaims(func(c map[string]any) { c["acr"] = "a1" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.transferRoutes(0)
			h.login()
			asked := h.postTransfer()
			tt.setup(h)

			p := h.approveFromPage(asked)

			assert.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden}, p.status, p.body)
			h.idp.Heal()
			assert.Equal(t, http.StatusForbidden, h.postTransfer().status, "still not approved")
			assert.True(t, h.signedIn(h.browser), "a refused approval does not end the session")
		})
	}
}

func TestApprovalMaxAge(t *testing.T) {
	h := newHarness(t, func(o *zenkey.Options) { o.IdleTimeout = time.Hour })
	h.transferRoutes(10 * time.Minute)
	h.login()

	assert.Equal(t, "sent", h.postTransfer().body, "the a3 login is recent enough")
	h.clock.Advance(11 * time.Minute)
	asked := h.postTransfer()
	require.Equal(t, http.StatusForbidden, asked.status)
	h.approveFromPage(asked)
	assert.Equal(t, "sent", h.postTransfer().body)
	assert.Equal(t, "sent", h.postTransfer().body, "within MaxAge, no new approval")
}

// TestApprovalMaxAgeCountsFromAuthTime signs in with a carrier that reused
// an authentication made 9 minutes earlier: MaxAge counts from then, not
// from the login.
func TestApprovalMaxAgeCountsFromAuthTime(t *testing.T) {
	h := newHarness(t, func(o *zenkey.Options) { o.IdleTimeout = time.Hour })
	h.transferRoutes(10 * time.Minute)
	h.idp.EditClaims(func(c map[string]any) {
		c["auth_time"] = h.clock.Now().Add(-9 * time.Minute).Unix()
	})
	h.login()
	h.idp.Heal()

	assert.Equal(t, "sent", h.postTransfer().body, "authenticated 9 minutes ago")
	h.clock.Advance(2 * time.Minute)
	assert.Equal(t, http.StatusForbidden, h.postTransfer().status, "authenticated 11 minutes ago")
}

// TestApprovalAsksA3OfLowLogins: an app whose logins ask for a1 still
// gets its approvals made with a PIN or biometric.
func TestApprovalAsksA3OfLowLogins(t *testing.T) {
	h := newHarness(t, func(o *zenkey.Options) { o.ACR = "a1" })
	h.transferRoutes(0)
	h.idp.EditClaims(func(c map[string]any) { c["acr"] = "a1" })
	h.login()
	assert.Equal(t, "a1", h.idp.LastAuthorize().Get("acr_values"))
	h.idp.Heal()

	h.approveFromPage(h.postTransfer())
	assert.Equal(t, "a3", h.idp.LastAuthorize().Get("acr_values"))
	assert.Equal(t, "sent", h.postTransfer().body)
}

// TestApprovalTextTooLong refuses an action whose text ZenKey could not
// show whole, rather than have the user approve a cut text.
func TestApprovalTextTooLong(t *testing.T) {
	h := newHarness(t, nil)
	ran := 0
	for _, n := range []int{280, 281} {
		h.mux.Handle(fmt.Sprintf("GET /text%d", n), h.zk.RequireApproval(zenkey.Approval{
			Context: func(*http.Request) string { return strings.Repeat("é", n) },
		}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran++ })))
	}
	h.login()
	authorizes := h.idp.Calls(zenkeytest.Authorize)

	p := h.do(h.browser, http.MethodGet, "/text281", true)
	assert.Equal(t, http.StatusInternalServerError, p.status)
	assert.Contains(t, p.body, "Nothing was done")
	assert.Equal(t, authorizes, h.idp.Calls(zenkeytest.Authorize), "no approval was asked")

	h.do(h.browser, http.MethodGet, "/text280", true)
	assert.Equal(t, strings.Repeat("é", 280), h.idp.LastAuthorize().Get("context"))
	assert.Equal(t, 1, ran, "only the action with a whole text ran, once approved")
}

// TestApprovalReturnTo brings the user of a posted form back where the app
// says, and ignores anything but a local path.
func TestApprovalReturnTo(t *testing.T) {
	for _, tt := range []struct{ returnTo, want string }{
		{"/transfer?to=bob", "/transfer?to=bob"},
		{"https://evil.example/", "/transfer"},
		{"//evil.example/", "/transfer"},
	} {
		t.Run(tt.returnTo, func(t *testing.T) {
			h := newHarness(t, nil)
			h.mux.Handle("GET /transfer", h.zk.RequireLogin(http.HandlerFunc(
				func(w http.ResponseWriter, r *http.Request) {
					io.WriteString(w,
						r.URL.RequestURI())
				})))
			h.mux.Handle("POST /transfer", h.zk.RequireApproval(zenkey.Approval{
				Context:  func(*http.Request) string { return transferText },
				ReturnTo: func(*http.Request) string { return tt.returnTo },
			}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w,
					"sent")
			})))
			h.login()

			back := h.approveFromPage(h.postTransfer())
			assert.Equal(t, tt.want, back.body)
		})
	}
}

func TestRequireApprovalPanicsWithoutContext(t *testing.T) {
	h := newHarness(t, nil)
	assert.PanicsWithValue(t, "zenkey: RequireApproval: Approval.Context is nil", func() {
		h.zk.RequireApproval(zenkey.Approval{}, http.NotFoundHandler())
	})
}

// TestApprovalResumesAtLocalPathsOnly: a page load resumes at its own URL
// after the approval, but only when that is a path on this site. A router
// that keeps "//evil.example/" as sent must not turn the approval into an
// open redirect.
func TestApprovalResumesAtLocalPathsOnly(t *testing.T) {
	h := newHarness(t, nil)
	h.login()
	admin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w,
			"admin")
	})
	approve := h.zk.RequireApproval(zenkey.Approval{
		Context: func(*http.Request) string { return "Open the admin area" },
	}, admin)
	h.app.Config.Handler = h.zk.Handler(approve) // no ServeMux to clean the path

	var left *url.URL
	b := *h.browser
	b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == "evil.example" {
			left = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	p := h.do(&b, http.MethodGet, h.app.URL+"//evil.example/", true)

	assert.Nil(t, left, "the approval sent the browser off the site")
	assert.Equal(t, h.app.URL+"/", p.url.String(), "it resumed at the home page instead")
}

// TestApprovalRefusesScriptsAndAPIClients: only a browser's page load or
// form post starts an approval. Anything else gets a plain 403 and starts
// nothing: no pending login in the store or in the login cookie, where it
// could push out a real one, and no page meant for a person.
func TestApprovalRefusesScriptsAndAPIClients(t *testing.T) {
	html := "text/html,application/xhtml+xml"
	tests := []struct {
		name    string
		method  string
		headers map[string]string
	}{
		{"JSON POST", http.MethodPost, map[string]string{
			"Accept": "application/json", "Content-Type": "application/json"}},
		{"POST accepting anything", http.MethodPost, map[string]string{"Accept": "*/*"}},
		{"XHR form POST", http.MethodPost, map[string]string{
			"Accept": html, "X-Requested-With": "XMLHttpRequest"}},
		{"fetch POST accepting HTML", http.MethodPost, map[string]string{
			"Accept": html, "Sec-Fetch-Mode": "cors"}},
		{"fetch GET accepting HTML", http.MethodGet, map[string]string{
			"Accept": html, "Sec-Fetch-Mode": "same-origin"}},
		{"XHR GET accepting HTML", http.MethodGet, map[string]string{
			"Accept": html, "X-Requested-With": "XMLHttpRequest"}},
		{"JSON GET", http.MethodGet, map[string]string{"Accept": "application/json"}},
		{"PUT accepting HTML", http.MethodPut, map[string]string{"Accept": html}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			sent := http.HandlerFunc(func(w http.ResponseWriter,
				r *http.Request) {
				io.WriteString(w, "sent")
			})
			h.mux.Handle("/api/transfer", h.zk.RequireApproval(zenkey.Approval{
				Context: func(*http.Request) string { return transferText },
			}, sent))
			h.login()
			authorizes := h.idp.Calls(zenkeytest.Authorize)
			tt.headers["Origin"] = h.app.URL

			p := h.send(h.browser, tt.method, "/api/transfer", tt.headers)

			assert.Equal(t, http.StatusForbidden, p.status, p.body)
			assert.True(t, strings.HasPrefix(p.header.Get("Content-Type"), "text/plain"), p.header)
			for _, c := range p.header.Values("Set-Cookie") {
				assert.False(t, strings.HasPrefix(c, "__Host-zenkey-login="), "no approval started")
			}
			assert.Equal(t, authorizes, h.idp.Calls(zenkeytest.Authorize))
		})
	}
	t.Run("browser form post", func(t *testing.T) {
		h := newHarness(t, nil)
		h.transferRoutes(0)
		h.login()
		p := h.send(h.browser, http.MethodPost, "/transfer", map[string]string{
			"Accept": html, "Sec-Fetch-Mode": "navigate", "Origin": h.app.URL,
			"Content-Type": "application/x-www-form-urlencoded"})
		assert.Equal(t, http.StatusForbidden, p.status)
		assert.Contains(t, p.body, "Approve with ZenKey", "a person is asked to approve")
	})
}

// TestApprovalIsBoundToItsSession: an approval asked in one session and
// finished after the user logged out and in again is refused. The new
// session did not ask for it, and the old one is gone.
func TestApprovalIsBoundToItsSession(t *testing.T) {
	h := newHarness(t, nil)
	h.transferRoutes(0)
	h.login()
	asked := h.postTransfer()
	require.Equal(t, http.StatusForbidden, asked.status)

	h.do(h.browser, http.MethodPost, "/auth/logout", true)
	require.False(t, h.signedIn(h.browser))
	h.login()
	require.True(t, h.signedIn(h.browser))
	p := h.approveFromPage(asked)

	assert.Equal(t, http.StatusBadRequest, p.status, p.body)
	assert.Equal(t, http.StatusForbidden, h.postTransfer().status, "no approval in the new session")
	assert.True(t, h.signedIn(h.browser), "a refused approval does not end the session")
}
