package zenkeytest_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey/zenkeytest"
)

func TestCarrierPicker(t *testing.T) {
	p := newRP(t, zenkeytest.Config{Interactive: true})
	request := url.Values{"client_id": {clientID}, "redirect_uri": {redirectURL}, "state": {"st"}}

	status, page := p.page(http.MethodGet, p.s.DiscoveryUIURL+"?"+request.Encode(), nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, "ZenKey <span>(simulated)</span>")
	assert.Contains(t, page, "not a real ZenKey service")
	assert.NotContains(t, page, "<script")
	offered := regexp.MustCompile(`name="mccmnc" value="(\d{6})"`).FindAllStringSubmatch(page, -1)
	require.Len(t, offered, 4)

	choose := func(field, value string) url.Values {
		form := cloneValues(request)
		form.Set(field, value)
		return p.post(p.s.URL+"/ui/discovery-ui/choice", form).Query()
	}
	for i, m := range offered {
		cb := choose("mccmnc", m[1])
		assert.Equal(t, "st", cb.Get("state"))
		status, _ := p.discover(cb.Get("mccmnc"))
		if i == 0 {
			assert.Equal(t, http.StatusOK, status, "the configured carrier")
		} else {
			assert.Equal(t, http.StatusNotFound, status, "a carrier without ZenKey")
		}
	}
	assert.Equal(t, "310999", choose("phone", "+1 (310) 555-0123").Get("mccmnc"))

	form := cloneValues(request)
	form.Set("phone", "12")
	status, page = p.page(http.MethodPost, p.s.URL+"/ui/discovery-ui/choice", form)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, page, "Enter a phone number")
	assert.Equal(t, 1, p.s.Calls(zenkeytest.DiscoveryUI), "form posts are not counted")
}

func TestApprovalPage(t *testing.T) {
	p := newRP(t, zenkeytest.Config{Interactive: true})
	a := newAuthRequest(url.Values{"context": {"Pay $20 to <Example> Store"}})

	status, page := p.page(http.MethodGet, p.url(a), nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, `<p class="context">Pay $20 to &lt;Example&gt; Store</p>`)
	assert.Contains(t, page, "<li>email</li>")
	assert.NotContains(t, page, "<li>openid</li>")
	m := regexp.MustCompile(`action="([^"]+)"[\s\S]*name="request" value="([^"]+)"`).
		FindStringSubmatch(page)
	require.Len(t, m, 3)
	decision, request := p.s.URL+m[1], html.UnescapeString(m[2])

	form := url.Values{"request": {request}, "decision": {"approve"}, "pin": {"12a4"}}
	status, page = p.page(http.MethodPost, decision, form)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, page, "four digits")

	form.Set("decision", "deny")
	cb := p.post(decision, form).Query()
	assert.Equal(t, "access_denied", cb.Get("error"))
	assert.Equal(t, a.state, cb.Get("state"))

	form.Set("decision", "approve")
	form.Set("pin", "0000")
	cb = p.post(decision, form).Query()
	assert.Equal(t, a.state, cb.Get("state"))
	assert.NotEmpty(t, cb.Get("code"))
	assert.Equal(t, 1, p.s.Calls(zenkeytest.Authorize), "form posts are not counted")

	form.Set("request", "client_id="+clientID+"&redirect_uri=https%3A%2F%2Frp.example%2F")
	status, _ = p.page(http.MethodPost, decision, form)
	assert.Equal(t, http.StatusBadRequest, status, "the request is checked again")
}

// page sends a request for an HTML page, with form as its body when not nil,
// and returns the status and the page.
func (p *rp) page(method, target string, form url.Values) (int, string) {
	p.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	require.NoError(p.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := p.browser.Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(p.t, err)
	if resp.StatusCode != http.StatusFound {
		assert.Equal(p.t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, string(b)
}

// post submits a form and returns where the server redirects to.
func (p *rp) post(target string, form url.Values) *url.URL {
	p.t.Helper()
	resp, err := p.browser.PostForm(target, form)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	require.Equal(p.t, http.StatusFound, resp.StatusCode)
	loc, err := resp.Location()
	require.NoError(p.t, err)
	return loc
}

// discover asks the discovery issuer for a carrier.
func (p *rp) discover(mccmnc string) (int, map[string]any) {
	p.t.Helper()
	q := url.Values{"client_id": {clientID}, "mccmnc": {mccmnc}}
	req, err := http.NewRequest(http.MethodGet, p.s.DiscoveryURL+"?"+q.Encode(), nil)
	require.NoError(p.t, err)
	return p.doJSON(req)
}

// cloneValues returns a copy of v.
func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
