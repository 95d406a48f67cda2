package zenkey_test

import (
	"encoding/base64"
	"encoding/json"
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

// useIssuer switches a harness's app to plain OpenID discovery at the
// provider's issuer (zenkeytest's carrier, as a standard provider).
func useIssuer(o *zenkey.Options) {
	base := strings.TrimSuffix(o.DiscoveryURL, "/.well-known/openid_configuration")
	o.Issuer = base + "/carrier/310999"
}

// idTokenClaims decodes the claims of the last id_token issued.
func (h *harness) idTokenClaims() map[string]any {
	raw := h.issuedTokens()["id_token"]
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	require.NoError(h.t, err)
	var c map[string]any
	require.NoError(h.t, json.Unmarshal(payload, &c))
	return c
}

// postLogoutToken sends a back-channel logout as the provider would.
func (h *harness) postLogoutToken(tok string) (int, http.Header) {
	form := url.Values{"logout_token": {tok}}
	resp, err := h.app.Client().Post(h.app.URL+"/auth/backchannel-logout",
		"application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	require.NoError(h.t, err)
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header
}

func TestStandardProviderLogin(t *testing.T) {
	h := newHarness(t, useIssuer)

	p := h.login()

	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "profile of "+testSubject, p.body)
	assert.Zero(t, h.idp.Calls(zenkeytest.DiscoveryUI), "no carrier discovery")
	auth := h.idp.LastAuthorize()
	assert.Empty(t, auth.Get("acr_values"), "no ZenKey acr by default")
	assert.Empty(t, auth.Get("correlation_id"))
}

func TestBackchannelLogout(t *testing.T) {
	h := newHarness(t, useIssuer)
	h.login()
	c := h.idTokenClaims()
	sid, _ := c["sid"].(string)
	require.NotEmpty(t, sid)
	other := h.newBrowser()
	h.do(other, http.MethodGet, "/profile", true) // another provider session

	tok := h.idp.LogoutToken("", sid)
	status, header := h.postLogoutToken(tok)

	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "no-store", header.Get("Cache-Control"))
	assert.False(t, h.signedIn(h.browser), "the session with that sid is gone")
	assert.True(t, h.signedIn(other), "other provider sessions stay")

	status, _ = h.postLogoutToken(tok)
	assert.Equal(t, http.StatusBadRequest, status, "a replayed jti is refused")

	status, _ = h.postLogoutToken(h.idp.LogoutToken(testSubject, ""))
	assert.Equal(t, http.StatusOK, status)
	assert.False(t, h.signedIn(other), "by subject, every session of the user")
}

func TestBackchannelLogoutRejectsInvalidTokens(t *testing.T) {
	event := map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}
	valid := func(h *harness) map[string]any {
		now := h.clock.Now()
		return map[string]any{
			"iss": h.opts.Issuer, "aud": testClientID, "iat": now.Unix(),
			"exp": now.Add(2 * time.Minute).Unix(),
			"jti": randomSuffix(), "events": event, "sub": testSubject,
		}
	}
	tests := []struct {
		name string
		edit func(h *harness, c map[string]any)
	}{
		{"wrong issuer", func(h *harness, c map[string]any) { c["iss"] = "https://evil.example" }},
		{"wrong audience", func(h *harness, c map[string]any) { c["aud"] = "other" }},
		{"no jti", func(h *harness, c map[string]any) { delete(c, "jti") }},
		{"no events", func(h *harness, c map[string]any) { delete(c, "events") }},
		{"another event too", func(h *harness, c map[string]any) {
			c["events"] = map[string]any{
				"http://schemas.openid.net/event/backchannel-logout": map[string]any{},
				"http://example.com/other":                           map[string]any{},
			}
		}},
		{"event not an object", func(h *harness, c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/backchannel-logout": "yes"}
		}},
		{"a nonce", func(h *harness, c map[string]any) { c["nonce"] = "n" }},
		{"neither sub nor sid", func(h *harness, c map[string]any) { delete(c, "sub") }},
		{"stale iat", func(h *harness,
			c map[string]any) {
			c["iat"] = h.clock.Now().Add(-time.Hour).Unix()
		}},
		{"future iat", func(h *harness,
			c map[string]any) {
			c["iat"] = h.clock.Now().Add(time.Hour).Unix()
		}},
		{"expired", func(h *harness,
			c map[string]any) {
			c["exp"] = h.clock.Now().Add(-time.Hour).Unix()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, useIssuer)
			h.login()
			c := valid(h)
			tt.edit(h, c)

			status, header := h.postLogoutToken(h.idp.SignLogoutToken(c))

			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "no-store", header.Get("Cache-Control"))
			assert.True(t, h.signedIn(h.browser), "an invalid token logs no one out")
		})
	}
	t.Run("the valid token passes", func(t *testing.T) {
		h := newHarness(t, useIssuer)
		h.login()
		status, _ := h.postLogoutToken(h.idp.SignLogoutToken(valid(h)))
		assert.Equal(t, http.StatusOK, status)
		assert.False(t, h.signedIn(h.browser))
	})
	t.Run("an id_token", func(t *testing.T) {
		h := newHarness(t, useIssuer)
		h.login()
		status, _ := h.postLogoutToken(h.issuedTokens()["id_token"])
		assert.Equal(t, http.StatusBadRequest, status)
	})
	t.Run("bad signature", func(t *testing.T) {
		h := newHarness(t, useIssuer)
		h.login()
		h.idp.SignWithUnpublishedKey(true)
		status, _ := h.postLogoutToken(h.idp.LogoutToken(testSubject, ""))
		assert.Equal(t, http.StatusBadRequest, status)
		assert.True(t, h.signedIn(h.browser))
	})
}

func TestProviderLogoutRedirectCarriesNoToken(t *testing.T) {
	h := newHarness(t, func(o *zenkey.Options) {
		useIssuer(o)
		o.ProviderLogout = true
	})
	h.login()
	b := *h.browser
	var endSession *url.URL
	b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasSuffix(req.URL.Path, "/end_session") {
			endSession = req.URL
		}
		return nil
	}
	p := h.do(&b, http.MethodPost, "/auth/logout", true)

	require.NotNil(t, endSession)
	q := endSession.Query()
	assert.Equal(t, testClientID, q.Get("client_id"))
	assert.Equal(t, h.app.URL+"/", q.Get("post_logout_redirect_uri"))
	assert.Empty(t, q.Get("id_token_hint"), "a token never travels in a URL")
	assert.Equal(t, "home, signed out", p.body)
}
