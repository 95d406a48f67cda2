package zenkeytest_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/zenkey-go/zenkey/zenkeytest"
)

func TestAuthorizeRejects(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	tests := []struct {
		name string
		edit func(q url.Values)
	}{
		{"response_type token", func(q url.Values) { q.Set("response_type", "token") }},
		{"no openid scope", func(q url.Values) { q.Set("scope", "name email") }},
		{"no state", func(q url.Values) { q.Del("state") }},
		{"no nonce", func(q url.Values) { q.Del("nonce") }},
		{"no code_challenge", func(q url.Values) { q.Del("code_challenge") }},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }},
		{"short code_challenge", func(q url.Values) { q.Set("code_challenge", "abc") }},
		{"acr a2", func(q url.Values) { q.Set("acr_values", "a3 a2") }},
		{"acr unknown", func(q url.Values) { q.Set("acr_values", "gold") }},
		{"long context", func(q url.Values) { q.Set("context", strings.Repeat("é", 281)) }},
		{"bad correlation_id", func(q url.Values) { q.Set("correlation_id", "short") }},
		{"repeated nonce", func(q url.Values) { q.Add("nonce", "again") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(p.url(newAuthRequest(nil)))
			require.NoError(t, err)
			q := u.Query()
			tc.edit(q)
			u.RawQuery = q.Encode()

			cb := p.redirect(u.String()).Query()
			assert.Equal(t, "invalid_request", cb.Get("error"))
			assert.NotEmpty(t, cb.Get("error_description"))
			assert.False(t, cb.Has("code"))
			assert.Equal(t, q.Get("state"), cb.Get("state"))
		})
	}

	t.Run("280 characters of context are fine", func(t *testing.T) {
		a := newAuthRequest(url.Values{"context": {strings.Repeat("é", 280)}})
		assert.NotEmpty(t, p.authorize(a).Get("code"))
	})
}

func TestAuthorizeErrorPage(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	tests := map[string]url.Values{
		"unknown client":        {"client_id": {"someone"}, "redirect_uri": {redirectURL}},
		"relative redirect_uri": {"client_id": {clientID}, "redirect_uri": {"/callback"}},
		"fragment":              {"client_id": {clientID}, "redirect_uri": {redirectURL + "#x"}},
	}
	for name, q := range tests {
		t.Run(name, func(t *testing.T) {
			for _, target := range []string{p.s.Issuer + "/authorize", p.s.DiscoveryUIURL} {
				resp, err := p.browser.Get(target + "?" + q.Encode())
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode, target)
				assert.Empty(t, resp.Header.Get("Location"), target)
			}
		})
	}
}

func TestAuthorizeCallback(t *testing.T) {
	p := newRP(t, zenkeytest.Config{MCCMNC: "311480"})
	cb := p.authorize(newAuthRequest(url.Values{"acr_values": {"a1"}}))
	assert.Equal(t, "311480", cb.Get("mccmnc"))
	assert.Regexp(t, `^[a-zA-Z0-9-]{8,16}$`, cb.Get("correlation_id"), "generated")

	tok, _ := p.login(url.Values{"acr_values": {"a1"}})
	c := p.claims(tok)
	assert.Equal(t, "a1", c["acr"])
	assert.True(t, strings.HasPrefix(c["sub"].(string), "311480-"))
}

func TestTokenClientAuthentication(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	tests := []struct {
		name   string
		edit   func(h http.Header, form url.Values)
		status int
		code   string
	}{
		{"client_secret_post", func(h http.Header, f url.Values) {
			h.Del("Authorization")
			f.Set("client_id", clientID)
			f.Set("client_secret", clientSecret)
		}, http.StatusUnauthorized, "invalid_client"},
		{"wrong secret", func(h http.Header, _ url.Values) {
			h.Set("Authorization", basicAuth(clientID, "wrong"))
		}, http.StatusUnauthorized, "invalid_client"},
		{"client_id repeated in the body", func(_ http.Header, f url.Values) {
			f.Set("client_id", clientID)
		}, http.StatusBadRequest, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAuthRequest(nil)
			form := url.Values{
				"grant_type":    {"authorization_code"},
				"code":          {p.authorize(a).Get("code")},
				"redirect_uri":  {redirectURL},
				"code_verifier": {a.verifier},
			}
			h := http.Header{"Authorization": {basicAuth(clientID, clientSecret)}}
			tc.edit(h, form)

			req, err := http.NewRequest(http.MethodPost, p.s.Issuer+"/token",
				strings.NewReader(form.Encode()))
			require.NoError(t, err)
			req.Header = h
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			status, body := p.doJSON(req)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.code, body["error"])
		})
	}

	t.Run("credentials are form-encoded before base64", func(t *testing.T) {
		s := zenkeytest.NewServer(zenkeytest.Config{ClientID: "id:1", ClientSecret: "s e/c+ret"})
		t.Cleanup(s.Close)
		req, err := http.NewRequest(http.MethodPost, s.Issuer+"/token",
			strings.NewReader("grant_type=refresh_token&refresh_token=x"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		escaped := basicAuth(url.QueryEscape("id:1"), url.QueryEscape("s e/c+ret"))
		req.Header.Set("Authorization", escaped)
		status, body := (&rp{t: t, s: s}).doJSON(req)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", body["error"], "authenticated, then the grant failed")
	})
}

func TestTokenGrantChecks(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	tests := []struct {
		name string
		edit func(form url.Values)
		code string
	}{
		{"other redirect_uri", func(f url.Values) { f.Set("redirect_uri", redirectURL+"2") },
			"invalid_grant"},
		{"wrong code_verifier", func(f url.Values) {
			f.Set("code_verifier", oauth2.GenerateVerifier())
		}, "invalid_grant"},
		{"no code_verifier", func(f url.Values) { f.Del("code_verifier") }, "invalid_request"},
		{"unknown code", func(f url.Values) { f.Set("code", "nope") }, "invalid_grant"},
		{"password grant", func(f url.Values) { f.Set("grant_type", "password") },
			"unsupported_grant_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAuthRequest(nil)
			form := url.Values{
				"grant_type":    {"authorization_code"},
				"code":          {p.authorize(a).Get("code")},
				"redirect_uri":  {redirectURL},
				"code_verifier": {a.verifier},
			}
			tc.edit(form)
			status, body := p.postForm(p.s.Issuer+"/token", form, true)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, tc.code, body["error"])
		})
	}

	t.Run("a code works once", func(t *testing.T) {
		a := newAuthRequest(nil)
		code := p.authorize(a).Get("code")
		_, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(a.verifier))
		require.NoError(t, err)
		_, err = p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(a.verifier))
		assert.Equal(t, "invalid_grant", retrieveError(t, err))
	})

	t.Run("no refresh token without offline_access", func(t *testing.T) {
		p.conf.Scopes = []string{"openid", "email"}
		tok, _ := p.login(nil)
		assert.Empty(t, tok.RefreshToken)
	})

	t.Run("oversized body", func(t *testing.T) {
		form := url.Values{"grant_type": {"authorization_code"}, "pad": {strings.Repeat("x", 1e6)}}
		status, body := p.postForm(p.s.Issuer+"/token", form, true)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_request", body["error"])
	})
}

func TestDiscoveryErrors(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	tests := []struct {
		name   string
		query  url.Values
		status int
		code   string
	}{
		{"unknown carrier", url.Values{"client_id": {clientID}, "mccmnc": {"310998"}},
			http.StatusNotFound, "provider_not_found"},
		{"no mccmnc", url.Values{"client_id": {clientID}},
			http.StatusBadRequest, "invalid_request"},
		{"unknown client", url.Values{"client_id": {"other"}, "mccmnc": {"310999"}},
			http.StatusBadRequest, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, p.s.DiscoveryURL+"?"+tc.query.Encode(), nil)
			require.NoError(t, err)
			status, body := p.doJSON(req)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.code, body["error"])
		})
	}
}

func TestConfiguration(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	var doc map[string]any
	require.NoError(t, p.provider.Claims(&doc))
	assert.Equal(t, true, doc["backchannel_logout_supported"])
	assert.Equal(t, float64(310999), doc["mccmnc"])
	assert.Equal(t, p.s.Issuer+"/end_session", doc["end_session_endpoint"])
	assert.Equal(t, 1, p.s.Calls(zenkeytest.Configuration))
	assert.Zero(t, p.s.Calls(zenkeytest.Discovery))
}

func TestEndSession(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	loc := p.redirect(p.s.Issuer + "/end_session?" + url.Values{
		"id_token_hint":            {"anything"},
		"post_logout_redirect_uri": {"https://rp.example/bye?x=1"},
		"state":                    {"st"},
	}.Encode())
	assert.Equal(t, "https://rp.example/bye?state=st&x=1", loc.String())

	resp, err := p.browser.Get(p.s.Issuer + "/end_session")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 2, p.s.Calls(zenkeytest.EndSession))
}

func TestNewServerPanics(t *testing.T) {
	const (
		missing = "zenkeytest: Config.ClientID and Config.ClientSecret are required"
		badCode = "zenkeytest: Config.MCCMNC must be six digits not starting with 0"
	)
	tests := []struct {
		name string
		c    zenkeytest.Config
		want string
	}{
		{"no client id", zenkeytest.Config{ClientSecret: "s"}, missing},
		{"no client secret", zenkeytest.Config{ClientID: "c"}, missing},
		{"mccmnc letters", zenkeytest.Config{ClientID: "c", ClientSecret: "s", MCCMNC: "31099x"},
			badCode},
		{"mccmnc leading 0", zenkeytest.Config{ClientID: "c", ClientSecret: "s", MCCMNC: "001001"},
			badCode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.PanicsWithValue(t, tc.want, func() { zenkeytest.NewServer(tc.c) })
		})
	}
}

// basicAuth is the Authorization header of HTTP basic authentication.
func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// TestBadInput sends junk to every endpoint: each answers with a client
// error, never a server error or a dropped connection.
func TestBadInput(t *testing.T) {
	p := newRP(t, zenkeytest.Config{Interactive: true})
	junk := "%zz&client_id=%00&redirect_uri=:&post_logout_redirect_uri=:&state=" +
		strings.Repeat("%C3", 100)
	gets := []string{"/ui/discovery-ui", "/.well-known/openid_configuration"}
	for _, path := range []string{"/authorize", "/userinfo", "/end_session"} {
		gets = append(gets, strings.TrimPrefix(p.s.Issuer, p.s.URL)+path)
	}
	posts := []string{"/ui/discovery-ui/choice"}
	for _, path := range []string{"/authorize/decision", "/token", "/revoke"} {
		posts = append(posts, strings.TrimPrefix(p.s.Issuer, p.s.URL)+path)
	}

	for _, path := range gets {
		req, err := http.NewRequest(http.MethodGet, p.s.URL+path+"?"+junk, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer")
		assertClientError(t, p, req)
	}
	for _, path := range posts {
		req, err := http.NewRequest(http.MethodPost, p.s.URL+path, strings.NewReader(junk))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Basic !!!")
		assertClientError(t, p, req)
	}
}

// assertClientError sends req and checks that the answer is a 4xx.
func assertClientError(t *testing.T, p *rp, req *http.Request) {
	t.Helper()
	resp, err := p.browser.Do(req)
	require.NoError(t, err, req.URL.Path)
	resp.Body.Close()
	assert.GreaterOrEqual(t, resp.StatusCode, 400, req.URL.Path)
	assert.Less(t, resp.StatusCode, 500, req.URL.Path)
}
