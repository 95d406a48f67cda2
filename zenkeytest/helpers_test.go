package zenkeytest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/zenkey-go/zenkey/zenkeytest"
)

const (
	clientID     = "test-client"
	clientSecret = "test-secret"
	redirectURL  = "https://rp.example/auth/callback"
)

// rp is a relying party built from x/oauth2 and go-oidc, as the root package
// is, that walks the flow against a test server without following redirects.
type rp struct {
	t        *testing.T
	s        *zenkeytest.Server
	ctx      context.Context
	provider *oidc.Provider
	conf     oauth2.Config
	browser  *http.Client
}

// newRP starts a server with c (client credentials filled in) and a relying
// party for it.
func newRP(t *testing.T, c zenkeytest.Config) *rp {
	t.Helper()
	c.ClientID, c.ClientSecret = clientID, clientSecret
	s := zenkeytest.NewServer(c)
	t.Cleanup(s.Close)
	return newRPFor(t, s)
}

// newRPFor makes a relying party for a running server.
func newRPFor(t *testing.T, s *zenkeytest.Server) *rp {
	t.Helper()
	ctx := oidc.ClientContext(t.Context(), s.Client())
	provider, err := oidc.NewProvider(ctx, s.Issuer)
	require.NoError(t, err)

	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	browser := s.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	return &rp{
		t: t, s: s, ctx: ctx, provider: provider, browser: browser,
		conf: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     endpoint,
			RedirectURL:  redirectURL,
			Scopes:       []string{oidc.ScopeOpenID, "name", "email", oidc.ScopeOfflineAccess},
		},
	}
}

// authRequest is one authorization request's secrets and extra parameters.
type authRequest struct {
	state, nonce, verifier string
	extra                  url.Values
}

// newAuthRequest makes an authorization request with fresh secrets.
func newAuthRequest(extra url.Values) authRequest {
	return authRequest{
		state:    oauth2.GenerateVerifier()[:20],
		nonce:    oauth2.GenerateVerifier()[:20],
		verifier: oauth2.GenerateVerifier(),
		extra:    extra,
	}
}

// url returns the request's authorization URL.
func (p *rp) url(a authRequest) string {
	opts := []oauth2.AuthCodeOption{oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier)}
	for k := range a.extra {
		opts = append(opts, oauth2.SetAuthURLParam(k, a.extra.Get(k)))
	}
	return p.conf.AuthCodeURL(a.state, opts...)
}

// redirect GETs target and returns where the server redirects to.
func (p *rp) redirect(target string) *url.URL {
	p.t.Helper()
	resp, err := p.browser.Get(target)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	require.Equal(p.t, http.StatusFound, resp.StatusCode, "GET %s", target)
	loc, err := resp.Location()
	require.NoError(p.t, err)
	return loc
}

// authorize sends a to the authorize endpoint and returns the callback's query.
func (p *rp) authorize(a authRequest) url.Values {
	p.t.Helper()
	loc := p.redirect(p.url(a))
	require.Equal(p.t, redirectURL, loc.Scheme+"://"+loc.Host+loc.Path)
	return loc.Query()
}

// login runs an authorization request and exchanges its code for tokens.
func (p *rp) login(extra url.Values) (*oauth2.Token, authRequest) {
	p.t.Helper()
	a := newAuthRequest(extra)
	cb := p.authorize(a)
	require.Equal(p.t, a.state, cb.Get("state"))
	require.NotEmpty(p.t, cb.Get("code"), "callback: %v", cb)
	tok, err := p.conf.Exchange(p.ctx, cb.Get("code"), oauth2.VerifierOption(a.verifier))
	require.NoError(p.t, err)
	return tok, a
}

// verifier returns go-oidc's id_token verifier for the client.
func (p *rp) verifier() *oidc.IDTokenVerifier {
	return p.provider.Verifier(&oidc.Config{ClientID: clientID})
}

// verify checks the id_token of tok with go-oidc.
func (p *rp) verify(tok *oauth2.Token) (*oidc.IDToken, error) {
	raw, _ := tok.Extra("id_token").(string)
	return p.verifier().Verify(p.ctx, raw)
}

// claims returns the id_token's claims, verified.
func (p *rp) claims(tok *oauth2.Token) map[string]any {
	p.t.Helper()
	idt, err := p.verify(tok)
	require.NoError(p.t, err)
	var c map[string]any
	require.NoError(p.t, idt.Claims(&c))
	return c
}

// refresh uses tok's refresh token once.
func (p *rp) refresh(tok *oauth2.Token) (*oauth2.Token, error) {
	spent := &oauth2.Token{RefreshToken: tok.RefreshToken} // no access token: refresh
	return p.conf.TokenSource(p.ctx, spent).Token()
}

// userInfo calls the userinfo endpoint with the access token and returns the
// status and the decoded body. go-oidc's Provider.UserInfo cannot be used: it
// decodes email as a string, and ZenKey's email is an object.
func (p *rp) userInfo(accessToken string) (int, map[string]any) {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.provider.UserInfoEndpoint(), nil)
	require.NoError(p.t, err)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	return p.doJSON(req)
}

// doJSON sends req and decodes the JSON body, if any.
func (p *rp) doJSON(req *http.Request) (int, map[string]any) {
	p.t.Helper()
	resp, err := p.s.Client().Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(p.t, err)
	var v map[string]any
	if len(body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(p.t, json.Unmarshal(body, &v), "body: %s", body)
	}
	return resp.StatusCode, v
}

// postForm posts form to target with the client's basic credentials when
// basic is set.
func (p *rp) postForm(target string, form url.Values, basic bool) (int, map[string]any) {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	require.NoError(p.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(clientID, clientSecret)
	}
	return p.doJSON(req)
}

// revoke posts a token to the revocation endpoint.
func (p *rp) revoke(token, hint string) int {
	p.t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	status, _ := p.postForm(p.s.Issuer+"/revoke", form, true)
	return status
}

// retrieveError returns the OAuth error code of a failed token request.
func retrieveError(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	return re.ErrorCode
}
