package zenkey_test

import (
	"encoding/base64"
	"encoding/json"
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

func TestLoginWalksCarrierDiscoveryAndReturns(t *testing.T) {
	h := newHarness(t, nil)

	p := h.login()

	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "/profile", p.url.Path, "back where the login started")
	assert.Equal(t, "profile of "+testSubject, p.body)
	assert.True(t, h.signedIn(h.browser))
	assert.Equal(t, 1, h.idp.Calls(zenkeytest.DiscoveryUI))
	assert.Equal(t, 1, h.idp.Calls(zenkeytest.Discovery))
	assert.Equal(t, 1, h.idp.Calls(zenkeytest.Token))

	auth := h.idp.LastAuthorize()
	assert.Equal(t, "S256", auth.Get("code_challenge_method"))
	assert.NotEmpty(t, auth.Get("code_challenge"))
	assert.GreaterOrEqual(t, len(auth.Get("nonce")), 32)
	assert.Equal(t, "a3", auth.Get("acr_values"))
	assert.Equal(t, "openid offline_access", auth.Get("scope"))
	assert.Regexp(t, `^[a-zA-Z0-9-]{8,16}$`, auth.Get("correlation_id"))
}

func TestSessionCookieIsHostOnlyOpaqueAndSmall(t *testing.T) {
	h := newHarness(t, nil)
	h.login()

	u, _ := url.Parse(h.app.URL)
	var names []string
	for _, c := range h.browser.Jar.Cookies(u) {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"__Host-zenkey"}, names, "only the session cookie is left")

	// The jar hides attributes: look at the Set-Cookie of a fresh login.
	b := h.newBrowser()
	cb := h.callbackURL(b)
	noFollow := *b
	noFollow.CheckRedirect = func(*http.Request,
		[]*http.Request) error {
		return http.ErrUseLastResponse
	}
	resp, err := noFollow.Get(cb.String())
	require.NoError(t, err)
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-zenkey" {
			session = c
		}
	}
	require.NotNil(t, session)
	assert.True(t, session.Secure)
	assert.True(t, session.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, session.SameSite)
	assert.Equal(t, "/", session.Path)
	assert.Empty(t, session.Domain)
	assert.Less(t, len(session.Value), 200, "an opaque id, not tokens")
}

func TestNoTokenReachesTheBrowser(t *testing.T) {
	h := newHarness(t, nil)
	var seen strings.Builder
	b := h.newBrowser()
	b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		seen.WriteString(req.URL.String() + "\n")
		for _, c := range req.Response.Cookies() {
			seen.WriteString(c.Value + "\n")
		}
		return nil
	}
	p := h.do(b, http.MethodGet, "/profile", true)
	require.Equal(t, http.StatusOK, p.status)
	seen.WriteString(p.body)
	for _, c := range b.Jar.Cookies(p.url) {
		seen.WriteString(c.Value + "\n")
	}

	issued := h.issuedTokens()
	require.Len(t, issued, 3, "access, refresh and id token")
	for name, tok := range issued {
		assert.NotContains(t, seen.String(), tok, name)
		for _, part := range strings.Split(tok, ".") {
			if len(part) > 16 {
				assert.NotContains(t, seen.String(), part, name+" fragment")
			}
		}
	}
}

// issuedTokens returns the tokens of the last token response.
func (h *harness) issuedTokens() map[string]string {
	h.tokens.mu.Lock()
	defer h.tokens.mu.Unlock()
	require.NotEmpty(h.t, h.tokens.bodies)
	var resp map[string]any
	require.NoError(h.t, json.Unmarshal([]byte(h.tokens.bodies[len(h.tokens.bodies)-1]), &resp))
	out := map[string]string{}
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if v, ok := resp[k].(string); ok && v != "" {
			out[k] = v
		}
	}
	return out
}

func TestRejectedIDTokens(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
	}{
		{"wrong issuer", editClaims(func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{"wrong audience", editClaims(func(c map[string]any) { c["aud"] = "someone-else" })},
		{"several audiences without azp", editClaims(func(c map[string]any) {
			c["aud"] = []string{testClientID, "someone-else"}
			delete(c, "azp")
		})},
		{"wrong azp", editClaims(func(c map[string]any) { c["azp"] = "someone-else" })},
		{"no subject", editClaims(func(c map[string]any) { delete(c, "sub") })},
		{"expired", func(h *harness) {
			h.idp.EditClaims(func(c map[string]any) {
				c["exp"] = h.clock.Now().Add(-2 * time.Hour).Unix()
				c["iat"] = h.clock.Now().Add(-3 * time.Hour).Unix()
			})
		}},
		{"issued in the future", func(h *harness) {
			h.idp.EditClaims(func(c map[string]any) {
				c["iat"] = h.clock.Now().Add(time.Hour).Unix()
			})
		}},
		{"no iat", editClaims(func(c map[string]any) { delete(c, "iat") })},
		{"wrong nonce", editClaims(func(c map[string]any) { c["nonce"] = "not-the-login-nonce" })},
		{"no nonce", editClaims(func(c map[string]any) { delete(c, "nonce") })},
		{"weaker acr", editClaims(func(c map[string]any) { c["acr"] = "a1" })},
		{"wrong at_hash", editClaims(func(c map[string]any) {
			c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA"
		})},
		{"a logout token", editClaims(func(c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}
		})},
		{"bad signature", func(h *harness) { h.idp.SignWithUnpublishedKey(true) }},
		{"line break inserted", editToken(func(jwt string) string {
			return jwt[:len(jwt)/2] + "\n" + jwt[len(jwt)/2:]
		})},
		{"trailing space", editToken(func(jwt string) string { return jwt + " " })},
		{"padding", editToken(func(jwt string) string { return jwt + "==" })},
		{"JWS JSON serialization", editToken(jsonSerialization)},
		{"non-canonical base64", editToken(nonCanonical)},
		{"four segments", editToken(func(jwt string) string { return jwt + ".AAAA" })},
		{"oversized", editToken(func(jwt string) string {
			return jwt + strings.Repeat("A", 20<<10)
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			tt.setup(h)

			p := h.login()

			assert.Equal(t, http.StatusBadRequest, p.status, p.body)
			assert.Contains(t, p.body, "could not be verified")
			assert.False(t, h.signedIn(h.browser), "a rejected login leaves the browser signed out")
		})
	}
}

func editClaims(f func(map[string]any)) func(*harness) {
	return func(h *harness) { h.idp.EditClaims(f) }
}

func editToken(f func(string) string) func(*harness) {
	return func(h *harness) { h.idp.EditIDToken(f) }
}

// jsonSerialization rewrites a compact JWS in the flattened JSON form, which
// go-jose parses but an id_token never uses.
func jsonSerialization(jwt string) string {
	p := strings.Split(jwt, ".")
	b, _ := json.Marshal(map[string]string{"protected": p[0], "payload": p[1], "signature": p[2]})
	return string(b)
}

// nonCanonical spells the signature's last character with different unused
// low bits: lax base64 decodes it to the same bytes, so the signature still
// verifies unless the decoding is strict.
func nonCanonical(jwt string) string {
	sig := jwt[strings.LastIndex(jwt, ".")+1:]
	raw, _ := base64.RawURLEncoding.DecodeString(sig)
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	unused := map[int]int{1: 4, 2: 2}[len(raw)%3] // bits the last char does not carry
	if unused == 0 {
		panic("signature length leaves no unused bits")
	}
	alt := alphabet[last|1] // set the lowest unused bit
	return jwt[:len(jwt)-1] + string(alt)
}

func TestCallbackStateMustBeThisBrowsersAndSingleUse(t *testing.T) {
	t.Run("tampered state", func(t *testing.T) {
		h := newHarness(t, nil)
		cb := h.callbackURL(h.browser)
		q := cb.Query()
		q.Set("state", q.Get("state")[1:]+"x")
		cb.RawQuery = q.Encode()
		assertRefused(t, h, h.browser, cb.String())
	})
	t.Run("missing state", func(t *testing.T) {
		h := newHarness(t, nil)
		cb := h.callbackURL(h.browser)
		q := cb.Query()
		q.Del("state")
		cb.RawQuery = q.Encode()
		assertRefused(t, h, h.browser, cb.String())
	})
	t.Run("another browser", func(t *testing.T) {
		h := newHarness(t, nil)
		cb := h.callbackURL(h.browser)
		other := h.newBrowser()
		assertRefused(t, h, other, cb.String())
		assert.Equal(t, 0, h.idp.Calls(zenkeytest.Token), "the code is never redeemed")
	})
	t.Run("replayed callback", func(t *testing.T) {
		h := newHarness(t, nil)
		cb := h.callbackURL(h.browser)
		first := h.do(h.browser, http.MethodGet, cb.String(), true)
		require.Equal(t, http.StatusOK, first.status)
		require.True(t, h.signedIn(h.browser))

		replay := h.do(h.browser, http.MethodGet, cb.String(), true)
		assert.Equal(t, http.StatusBadRequest, replay.status)
		assert.Equal(t, 1, h.idp.Calls(zenkeytest.Token), "a replayed code is never redeemed")
	})
	t.Run("repeated parameter", func(t *testing.T) {
		h := newHarness(t, nil)
		cb := h.callbackURL(h.browser)
		cb.RawQuery += "&code=second"
		assertRefused(t, h, h.browser, cb.String())
	})
}

func assertRefused(t *testing.T, h *harness, b *http.Client, target string) {
	t.Helper()
	p := h.do(b, http.MethodGet, target, true)
	assert.Equal(t, http.StatusBadRequest, p.status, p.body)
	assert.False(t, h.signedIn(b))
}

func TestSeveralTabsLogInAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	first := h.callbackURL(h.browser)
	second := h.callbackURL(h.browser)

	assert.Equal(t, http.StatusOK, h.do(h.browser, http.MethodGet, second.String(), true).status)
	assert.Equal(t, http.StatusOK, h.do(h.browser, http.MethodGet, first.String(), true).status)
	assert.True(t, h.signedIn(h.browser))
}

func TestPendingLoginsPerBrowserAreBounded(t *testing.T) {
	h := newHarness(t, nil)
	oldest := h.callbackURL(h.browser)
	for range 5 {
		h.callbackURL(h.browser)
	}
	assertRefused(t, h, h.browser, oldest.String())
}

func TestLoginStateExpires(t *testing.T) {
	h := newHarness(t, nil)
	cb := h.callbackURL(h.browser)
	h.clock.Advance(11 * time.Minute)
	assertRefused(t, h, h.browser, cb.String())
}

func TestSigningKeyRotation(t *testing.T) {
	h := newHarness(t, nil)
	require.Equal(t, http.StatusOK, h.login().status)
	require.Equal(t, 1, h.idp.Calls(zenkeytest.JWKS))

	h.idp.RotateKey(false)
	fresh := h.newBrowser()
	h.clock.Advance(5 * time.Second)
	p := h.do(fresh, http.MethodGet, "/profile", true)
	assert.Equal(t, http.StatusBadRequest, p.status,
		"an unknown key right after a fetch is refused")
	assert.Equal(t, 1, h.idp.Calls(zenkeytest.JWKS), "no refetch within the interval")

	h.clock.Advance(time.Minute)
	p = h.do(fresh, http.MethodGet, "/profile", true)
	assert.Equal(t, http.StatusOK, p.status, "the app follows the new key")
	assert.Equal(t, 2, h.idp.Calls(zenkeytest.JWKS))
}

func TestUnknownKeyIDsDoNotHammerTheProvider(t *testing.T) {
	h := newHarness(t, nil)
	require.Equal(t, http.StatusOK, h.login().status)
	h.idp.SignWithUnpublishedKey(false)
	h.idp.EditIDToken(func(jwt string) string { return withKid(jwt, "random-kid") })
	for range 20 {
		h.do(h.newBrowser(), http.MethodGet, "/profile", true)
	}
	assert.Equal(t, 1, h.idp.Calls(zenkeytest.JWKS))
}

// withKid re-encodes a token's header with another kid (the signature no
// longer matches, which does not matter: the key is never found).
func withKid(jwt, kid string) string {
	p := strings.Split(jwt, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(p[0])
	var head map[string]any
	json.Unmarshal(raw, &head)
	head["kid"] = kid
	b, _ := json.Marshal(head)
	return base64.RawURLEncoding.EncodeToString(b) + "." + p[1] + "." + p[2]
}

func TestProviderErrors(t *testing.T) {
	t.Run("user_not_found restarts discovery with the picker", func(t *testing.T) {
		h := newHarness(t, nil)
		h.idp.SetAuthorizeError("user_not_found", "no such user")
		b := h.newBrowser()
		var pickAgain bool
		b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if req.URL.Path == "/ui/discovery-ui" && req.URL.Query().Get("prompt") == "true" {
				pickAgain = true
				return http.ErrUseLastResponse
			}
			return nil
		}
		h.do(b, http.MethodGet, "/profile", true)
		assert.True(t, pickAgain)
	})
	t.Run("access_denied", func(t *testing.T) {
		h := newHarness(t, nil)
		h.idp.SetAuthorizeError("access_denied", "user said no")
		p := h.login()
		assert.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, "You declined the sign-in.")
		assert.NotContains(t, p.body, "user said no")
		assert.False(t, h.signedIn(h.browser))
	})
	t.Run("token endpoint refuses", func(t *testing.T) {
		h := newHarness(t, nil)
		h.idp.SetTokenError("invalid_grant")
		p := h.login()
		assert.Equal(t, http.StatusBadRequest, p.status)
		assert.False(t, h.signedIn(h.browser))
	})
	t.Run("token endpoint down", func(t *testing.T) {
		h := newHarness(t, nil)
		h.idp.Fail(zenkeytest.Token, http.StatusServiceUnavailable)
		p := h.login()
		assert.Equal(t, http.StatusBadGateway, p.status)
		assert.False(t, h.signedIn(h.browser))
	})
	t.Run("discovery down", func(t *testing.T) {
		h := newHarness(t, nil)
		h.idp.Fail(zenkeytest.Discovery, http.StatusInternalServerError)
		p := h.login()
		assert.Equal(t, http.StatusBadGateway, p.status)
	})
	t.Run("provider_not_found", func(t *testing.T) {
		h := newHarness(t, nil)
		b := h.newBrowser()
		b.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if req.URL.Path == "/auth/callback" && req.URL.Query().Get("mccmnc") != "" {
				q := req.URL.Query()
				q.Set("mccmnc", "999999")
				req.URL.RawQuery = q.Encode()
			}
			return nil
		}
		p := h.do(b, http.MethodGet, "/profile", true)
		assert.Equal(t, http.StatusBadRequest, p.status)
		assert.Contains(t, p.body, "does not offer ZenKey")
	})
}

func TestReturnToAcceptsLocalPathsOnly(t *testing.T) {
	for _, rt := range []string{"//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "evil"} {
		t.Run(rt, func(t *testing.T) {
			h := newHarness(t, nil)
			p := h.do(h.browser, http.MethodGet, "/auth/login?return_to="+url.QueryEscape(rt), true)
			require.Equal(t, http.StatusOK, p.status)
			assert.Equal(t, h.app.URL+"/", p.url.String())
		})
	}
}

func TestRequireLogin(t *testing.T) {
	h := newHarness(t, nil)

	nav := *h.browser
	nav.CheckRedirect = func(*http.Request,
		[]*http.Request) error {
		return http.ErrUseLastResponse
	}
	p := h.do(&nav, http.MethodGet, "/profile?tab=1", true)
	assert.Equal(t, http.StatusSeeOther, p.status)
	assert.Equal(t, "/auth/login?return_to="+url.QueryEscape("/profile?tab=1"),
		p.header.Get("Location"))

	assert.Equal(t, http.StatusUnauthorized, h.do(h.browser, http.MethodGet, "/profile",
		false).status)
	assert.Equal(t, http.StatusUnauthorized, h.do(h.browser, http.MethodPost, "/profile",
		true).status)
}

func TestNewLoginReplacesTheEarlierSession(t *testing.T) {
	h := newHarness(t, nil)
	h.login()
	u, _ := url.Parse(h.app.URL)
	before := h.browser.Jar.Cookies(u)

	h.do(h.browser, http.MethodGet, "/auth/login", true)
	require.True(t, h.signedIn(h.browser))

	old := h.newBrowser()
	old.Jar.SetCookies(u, before)
	assert.False(t, h.signedIn(old), "the earlier session was destroyed")
}

func TestLogout(t *testing.T) {
	h := newHarness(t, nil)
	h.login()
	u, _ := url.Parse(h.app.URL)
	stolen := h.browser.Jar.Cookies(u)

	p := h.do(h.browser, http.MethodPost, "/auth/logout", true)

	assert.Equal(t, http.StatusOK, p.status)
	assert.Equal(t, "home, signed out", p.body)
	assert.False(t, h.signedIn(h.browser))
	replay := h.newBrowser()
	replay.Jar.SetCookies(u, stolen)
	assert.False(t, h.signedIn(replay), "a copied cookie is dead after logout")
}

func TestLogoutRefusesCrossOriginRequests(t *testing.T) {
	h := newHarness(t, nil)
	h.login()
	req, _ := http.NewRequest(http.MethodPost, h.app.URL+"/auth/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := h.browser.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.True(t, h.signedIn(h.browser))
}

func TestLogoutTakesPostOnly(t *testing.T) {
	h := newHarness(t, nil)
	h.login()
	assert.Equal(t, http.StatusMethodNotAllowed, h.do(h.browser, http.MethodGet, "/auth/logout",
		true).status)
	assert.True(t, h.signedIn(h.browser))
}

func TestSessionTimeouts(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		h := newHarness(t, func(o *zenkey.Options) { o.IdleTimeout = 10 * time.Minute })
		h.login()
		h.clock.Advance(9 * time.Minute)
		require.True(t, h.signedIn(h.browser), "activity moves the idle deadline")
		h.clock.Advance(9 * time.Minute)
		require.True(t, h.signedIn(h.browser))
		h.clock.Advance(11 * time.Minute)
		assert.False(t, h.signedIn(h.browser))
	})
	t.Run("absolute", func(t *testing.T) {
		h := newHarness(t, func(o *zenkey.Options) {
			o.IdleTimeout = 10 * time.Minute
			o.AbsoluteTimeout = 30 * time.Minute
		})
		h.login()
		for range 4 {
			h.clock.Advance(8 * time.Minute)
			h.signedIn(h.browser)
		}
		assert.False(t, h.signedIn(h.browser), "activity never extends past the absolute timeout")
	})
}

// TestRequestsReadOnceAndTouchOncePerMinute: a signed-in request costs one
// store read; the idle deadline moves with a write at most once a minute.
func TestRequestsReadOnceAndTouchOncePerMinute(t *testing.T) {
	counting := &countingStore{Store: zenkey.NewMemoryStore()}
	h := newHarness(t, func(o *zenkey.Options) { o.Store = counting })
	h.login()
	gets, writes := counting.gets.Load(), counting.writes()

	for range 20 {
		h.clock.Advance(2 * time.Second)
		require.Equal(t, "home of "+testSubject, h.do(h.browser, http.MethodGet, "/", false).body)
	}
	assert.Equal(t, gets+20, counting.gets.Load(), "one read per request")
	assert.Equal(t, writes, counting.writes(), "40 seconds of requests, no write")

	h.clock.Advance(25 * time.Second)
	for range 5 {
		h.do(h.browser, http.MethodGet, "/", false)
	}
	assert.Equal(t, writes+1, counting.writes(), "a minute after login: one touch")
}
