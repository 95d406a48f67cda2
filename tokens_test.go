package zenkey_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// tokenRoute answers with the session's access token's fate: "ok" or the
// error. The token itself never goes to the browser, even in tests.
func (h *harness) tokenRoute() {
	h.mux.Handle("/token", h.zk.RequireLogin(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			tok, err := zenkey.SessionFromContext(r.Context()).AccessToken(r.Context())
			switch {
			case errors.Is(err, zenkey.ErrSessionEnded):
				http.Error(w, "ended", http.StatusUnauthorized)
			case err != nil:
				http.Error(w, err.Error(), http.StatusBadGateway)
			case tok == "":
				http.Error(w, "empty token", http.StatusInternalServerError)
			default:
				io.WriteString(w, "ok")
			}
		})))
}

func longSessions(o *zenkey.Options) { o.IdleTimeout = 4 * time.Hour }

func TestAccessTokenIsFreshWithoutRefreshOrWrite(t *testing.T) {
	counting := &countingStore{Store: zenkey.NewMemoryStore()}
	h := newHarness(t, func(o *zenkey.Options) { o.Store = counting })
	h.tokenRoute()
	h.login()
	writes := counting.writes()

	for range 10 {
		require.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body)
	}
	assert.Equal(t, 0, h.idp.Calls(zenkeytest.Refresh))
	assert.Equal(t, writes, counting.writes(), "a fresh token costs no store write")
}

func TestExpiredTokenIsRefreshedOnceForAThousandRequests(t *testing.T) {
	h := newHarness(t, longSessions)
	h.tokenRoute()
	h.login()
	h.clock.Advance(29*time.Minute + 30*time.Second) // within RefreshSkew of expiry

	var wg sync.WaitGroup
	var failures atomic.Int32
	for range 1000 {
		wg.Go(func() {
			if p := h.doQuiet(h.browser, "/token"); p != "ok" {
				failures.Add(1)
			}
		})
	}
	wg.Wait()

	assert.Zero(t, failures.Load())
	assert.Equal(t, 1, h.idp.Calls(zenkeytest.Refresh))
}

// doQuiet is a GET for concurrent use: it reports failures in the body
// rather than through t.
func (h *harness) doQuiet(b *http.Client, path string) string {
	req, _ := http.NewRequest(http.MethodGet, h.app.URL+path, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := b.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func TestRotatedRefreshTokenIsKept(t *testing.T) {
	h := newHarness(t, longSessions)
	h.tokenRoute()
	h.login()
	for i := range 3 {
		h.clock.Advance(30 * time.Minute)
		require.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body, "refresh %d",
			i)
	}
	assert.Equal(t, 3, h.idp.Calls(zenkeytest.Refresh),
		"each refresh used the latest refresh token")
}

func TestRefreshEndsTheSession(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
	}{
		{"invalid_grant", func(h *harness) { h.idp.SetTokenError("invalid_grant") }},
		{"another subject", editClaims(func(c map[string]any) {
			c["sub"] = "310999-somebody-else"
		})},
		{"another issuer", editClaims(func(c map[string]any) {
			c["iss"] = "https://evil.example"
		})},
		{"another audience", editClaims(func(c map[string]any) {
			c["aud"] = []string{testClientID, "other"}
		})},
		{"another nonce", editClaims(func(c map[string]any) { c["nonce"] = "fresh-nonce" })},
		{"another auth_time", func(h *harness) {
			h.idp.EditClaims(func(c map[string]any) { c["auth_time"] = h.clock.Now().Unix() })
		}},
		{"a tampered id_token", editToken(func(jwt string) string { return jwt + "\n" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, longSessions)
			h.tokenRoute()
			h.login()
			h.clock.Advance(30 * time.Minute)
			tt.setup(h)

			p := h.do(h.browser, http.MethodGet, "/token", false)

			assert.Equal(t, http.StatusUnauthorized, p.status, p.body)
			h.idp.Heal()
			assert.False(t, h.signedIn(h.browser), "the session is destroyed")
		})
	}
}

func TestRefreshWithoutNonceIsAccepted(t *testing.T) {
	h := newHarness(t, longSessions)
	h.tokenRoute()
	h.login()
	h.clock.Advance(30 * time.Minute)
	h.idp.EditClaims(func(c map[string]any) { delete(c, "nonce") })
	assert.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body)
}

func TestRefreshProviderDownKeepsTheSession(t *testing.T) {
	h := newHarness(t, longSessions)
	h.tokenRoute()
	h.login()
	h.clock.Advance(30 * time.Minute)
	h.idp.Fail(zenkeytest.Refresh, http.StatusServiceUnavailable)
	h.idp.Fail(zenkeytest.Token, http.StatusServiceUnavailable)

	assert.Equal(t, http.StatusBadGateway, h.do(h.browser, http.MethodGet, "/token", false).status)
	h.idp.Heal()
	assert.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body,
		"the lease was released")
}

// api is an upstream API that records what it received.
type api struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func newAPI(t *testing.T) *api {
	a := &api{}
	a.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.reqs = append(a.reqs, r)
		a.body = append(a.body, string(b))
		a.mu.Unlock()
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "upstream", Value: "x"})
		io.WriteString(w, "api:"+r.URL.Path+":"+string(b))
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *api) last() (*http.Request, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.reqs) == 0 {
		return nil, ""
	}
	return a.reqs[len(a.reqs)-1], a.body[len(a.body)-1]
}

func (a *api) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.reqs)
}

func TestClientSendsTokensOnlyToAllowedOrigins(t *testing.T) {
	allowed, other := newAPI(t), newAPI(t)
	spy := &bearerSpy{}
	h := newHarness(t, func(o *zenkey.Options) {
		o.APIOrigins = []string{allowed.URL}
		o.IDTokenHeader = "X-Id-Token"
		spy.base = o.HTTPClient.Transport
		o.HTTPClient = &http.Client{Transport: spy, Timeout: o.HTTPClient.Timeout}
	})
	h.mux.Handle("/call", h.zk.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		resp, err := zenkey.SessionFromContext(r.Context()).Client().Get(r.URL.Query().Get("to"))
		if err != nil {
			http.Error(w, "refused", http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		io.WriteString(w, "sent")
	})))
	h.login()
	call := func(to string) string {
		return h.do(h.browser, http.MethodGet, "/call?to="+url.QueryEscape(to), false).body
	}

	require.Equal(t, "sent", call(allowed.URL+"/v1/me"))
	req, _ := allowed.last()
	issued := h.issuedTokens()
	assert.Equal(t, "Bearer "+issued["access_token"], req.Header.Get("Authorization"))
	assert.Equal(t, issued["id_token"], req.Header.Get("X-Id-Token"))

	assert.Contains(t, call(other.URL+"/v1/me"), "refused")
	assert.Contains(t, call(allowed.URL+"/redirect?to="+url.QueryEscape(other.URL+"/steal")),
		"refused")
	plain := strings.Replace(allowed.URL, "https", "http", 1)
	assert.Contains(t, call(plain), "refused")
	assert.NotContains(t, spy.sentTo(), plain+"/",
		"the scheme is part of the origin: no token left for plain http")
	assert.Zero(t, other.count(), "the other origin never heard from us")
}

// bearerSpy records where requests carrying a Bearer token were sent,
// before they reach the network.
type bearerSpy struct {
	base http.RoundTripper
	mu   sync.Mutex
	urls []string
}

func (s *bearerSpy) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") {
		s.mu.Lock()
		s.urls = append(s.urls, req.URL.String())
		s.mu.Unlock()
	}
	return s.base.RoundTrip(req)
}

// sentTo returns every URL a token was sent to, one per line.
func (s *bearerSpy) sentTo() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.urls, "\n")
}

func TestAPIProxy(t *testing.T) {
	upstream := newAPI(t)
	h := newHarness(t, nil)
	u, _ := url.Parse(upstream.URL + "/v1")
	h.mux.Handle("/api/", h.zk.APIProxy("/api/", u))

	send := func(b *http.Client, method, path, body string, header map[string]string) (int, string,
		http.Header) {
		req, _ := http.NewRequest(method, h.app.URL+path, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := b.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(got), resp.Header
	}

	status, _, hdr := send(h.browser, http.MethodGet, "/api/items", "", nil)
	assert.Equal(t, http.StatusUnauthorized, status, "no session: 401, never a redirect")
	assert.Empty(t, hdr.Get("Location"))
	assert.Zero(t, upstream.count())

	h.login()
	status, body, hdr := send(h.browser, http.MethodGet, "/api/items?x=1", "", map[string]string{
		"Authorization": "Bearer from-the-browser",
	})
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "api:/v1/items:", body)
	assert.Empty(t, hdr.Values("Set-Cookie"), "upstream cookies do not reach the browser")
	req, _ := upstream.last()
	assert.Equal(t, "Bearer "+h.issuedTokens()["access_token"], req.Header.Get("Authorization"))
	assert.Empty(t, req.Header.Get("Cookie"), "the browser's cookies stay here")
	assert.Equal(t, "1", req.URL.Query().Get("x"))

	status, _, _ = send(h.browser, http.MethodPost, "/api/items", "new", nil)
	assert.Equal(t, http.StatusForbidden, status, "state change without X-Requested-With")
	status, _, _ = send(h.browser, http.MethodPost, "/api/items", "new", map[string]string{
		"X-Requested-With": "fetch", "Sec-Fetch-Site": "cross-site",
	})
	assert.Equal(t, http.StatusForbidden, status, "cross-site state change")
	status, body, _ = send(h.browser, http.MethodPost, "/api/items", "new", map[string]string{
		"X-Requested-With": "fetch", "Sec-Fetch-Site": "same-origin",
	})
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "api:/v1/items:new", body, "the body was forwarded")
}

func TestUserInfo(t *testing.T) {
	h := newHarness(t, func(o *zenkey.Options) { o.UserInfoTTL = time.Minute })
	h.idp.SetUserInfo(map[string]any{
		"name": map[string]any{"value": "Alice Liddell", "given_name": "Alice",
			"family_name": "Liddell"},
		"email":       map[string]any{"value": "alice@example.com"},
		"phone":       map[string]any{"value": "+15555550100"},
		"postal_code": map[string]any{"value": "94105"},
	})
	var got *zenkey.UserInfo
	var gotErr error
	h.mux.Handle("/me", h.zk.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		got, gotErr = zenkey.SessionFromContext(r.Context()).UserInfo(r.Context())
	})))
	h.login()

	h.do(h.browser, http.MethodGet, "/me", false)
	require.NoError(t, gotErr)
	assert.Equal(t, testSubject, got.Subject)
	assert.Equal(t, "Alice Liddell", got.Name)
	assert.Equal(t, "Alice", got.GivenName)
	assert.Equal(t, "Liddell", got.FamilyName)
	assert.Equal(t, "alice@example.com", got.Email)
	assert.Equal(t, "+15555550100", got.Phone)
	assert.Equal(t, "94105", got.PostalCode)

	h.do(h.browser, http.MethodGet, "/me", false)
	assert.Equal(t, 1, h.idp.Calls(zenkeytest.UserInfo), "kept in the session for UserInfoTTL")

	h.clock.Advance(2 * time.Minute)
	h.idp.SetUserInfo(map[string]any{"sub": "310999-someone-else"})
	h.do(h.browser, http.MethodGet, "/me", false)
	assert.ErrorIs(t, gotErr, zenkey.ErrUserInfoMismatch)
}

func TestUserInfoReadsFlatStandardClaims(t *testing.T) {
	h := newHarness(t, nil)
	h.idp.SetUserInfo(map[string]any{
		"name": "Bob Example", "given_name": "Bob", "family_name": "Example",
		"email": "bob@example.com", "phone_number": "+15555550101",
		"address": map[string]any{"postal_code": "10001"},
	})
	var got *zenkey.UserInfo
	h.mux.Handle("/me", h.zk.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		got, _ = zenkey.SessionFromContext(r.Context()).UserInfo(r.Context())
	})))
	h.login()
	h.do(h.browser, http.MethodGet, "/me", false)
	require.NotNil(t, got)
	assert.Equal(t, zenkey.UserInfo{
		Subject: testSubject, Name: "Bob Example", GivenName: "Bob", FamilyName: "Example",
		Email: "bob@example.com", Phone: "+15555550101", PostalCode: "10001",
	}, zenkey.UserInfo{
		Subject: got.Subject, Name: got.Name, GivenName: got.GivenName, FamilyName: got.FamilyName,
		Email: got.Email, Phone: got.Phone, PostalCode: got.PostalCode,
	})
}

// TestRefreshSkewIsHonoured asks for the access token four minutes before
// it expires: with the default RefreshSkew (a minute) it is still good;
// with five minutes it is refreshed first.
func TestRefreshSkewIsHonoured(t *testing.T) {
	tests := []struct {
		name      string
		skew      time.Duration
		refreshes int
	}{
		{"default", 0, 0},
		{"five minutes", 5 * time.Minute, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *zenkey.Options) {
				longSessions(o)
				o.RefreshSkew = tt.skew
			})
			h.tokenRoute()
			h.login()
			h.clock.Advance(26 * time.Minute) // the token expires after 30

			require.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body)
			assert.Equal(t, tt.refreshes, h.idp.Calls(zenkeytest.Refresh))
		})
	}
}
