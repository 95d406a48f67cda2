package zenkey_test

import (
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
)

const transferText = "Send $250 to Bob"

// transferRoutes adds a form page and a transfer that needs approval.
func (h *harness) transferRoutes(maxAge time.Duration) {
	h.mux.Handle("GET /transfer", h.zk.RequireLogin(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "transfer form") })))
	h.mux.Handle("POST /transfer", h.zk.RequireApproval(zenkey.Approval{
		Context: func(*http.Request) string { return transferText },
		MaxAge:  maxAge,
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "sent") })))
	h.mux.Handle("GET /statement", h.zk.RequireApproval(zenkey.Approval{
		Context: func(*http.Request) string { return "Show my statement" },
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "statement") })))
}

// postTransfer submits the transfer form from its page.
func (h *harness) postTransfer() page {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.app.URL+"/transfer", strings.NewReader("amount=250"))
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
	assert.Equal(t, http.StatusForbidden, h.do(h.browser, http.MethodGet, "/statement", false).status,
		"an API call is refused, not redirected")
}

func TestApprovalRefused(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
	}{
		{"another user", editClaims(func(c map[string]any) { c["sub"] = "310999-mallory" })},
		{"another action", editClaims(func(c map[string]any) { c["context"] = "Send $9999 to Eve" })},
		{"old authentication", func(h *harness) {
			h.idp.EditClaims(func(c map[string]any) { c["auth_time"] = h.clock.Now().Add(-time.Hour).Unix() })
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
