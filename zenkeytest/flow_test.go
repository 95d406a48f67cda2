package zenkeytest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/zenkey-go/zenkey/zenkeytest"
)

// TestFlow walks a whole ZenKey login with x/oauth2 and go-oidc, over HTTP and
// HTTPS: carrier discovery, authorization with PKCE, code exchange, id_token
// verification, userinfo, refresh rotation and revocation.
func TestFlow(t *testing.T) {
	starts := map[string]func(zenkeytest.Config) *zenkeytest.Server{
		"http":  zenkeytest.NewServer,
		"https": zenkeytest.NewTLSServer,
	}
	for name, start := range starts {
		t.Run(name, func(t *testing.T) {
			s := start(zenkeytest.Config{ClientID: clientID, ClientSecret: clientSecret})
			t.Cleanup(s.Close)
			require.Contains(t, s.URL, name+"://127.0.0.1:")

			mccmnc := discoverCarrier(t, s)
			issuer := discoverIssuer(t, s, mccmnc)
			require.Equal(t, s.Issuer, issuer)

			p := newRPFor(t, s)
			tok, a := p.login(url.Values{
				"acr_values":     {"a3"},
				"context":        {"Sign in to Example Bank"},
				"correlation_id": {"corr-1234"},
			})
			idt := checkLogin(t, p, tok, a)
			checkUserInfo(t, p, tok, idt.Subject)
			fresh := checkRefresh(t, p, tok)
			checkRevoke(t, p, fresh)
		})
	}
}

// discoverCarrier runs the discovery UI and returns the mccmnc it picked.
func discoverCarrier(t *testing.T, s *zenkeytest.Server) string {
	p := &rp{t: t, s: s, browser: s.Client()}
	p.browser.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	loc := p.redirect(s.DiscoveryUIURL + "?" + url.Values{
		"client_id": {clientID}, "redirect_uri": {redirectURL}, "state": {"st-1"},
	}.Encode())
	q := loc.Query()
	assert.Equal(t, "st-1", q.Get("state"))
	assert.Equal(t, "310999", q.Get("mccmnc"))
	assert.False(t, q.Has("login_hint_token"))
	assert.Equal(t, 1, s.Calls(zenkeytest.DiscoveryUI))
	return q.Get("mccmnc")
}

// discoverIssuer asks ZenKey's discovery issuer for the carrier's issuer.
func discoverIssuer(t *testing.T, s *zenkeytest.Server, mccmnc string) string {
	resp, err := s.Client().Get(s.DiscoveryURL + "?" + url.Values{
		"client_id": {clientID}, "mccmnc": {mccmnc},
	}.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	var doc struct {
		Issuer     string          `json:"issuer"`
		MCCMNC     json.RawMessage `json:"mccmnc"`
		JWKSURI    string          `json:"jwks_uri"`
		Revocation string          `json:"revocation_endpoint"`
		Algs       []string        `json:"id_token_signing_alg_values_supported"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	assert.Equal(t, "310999", string(doc.MCCMNC), "mccmnc must be a JSON number")
	assert.Equal(t, s.Issuer+"/jwks", doc.JWKSURI)
	assert.Equal(t, s.Issuer+"/revoke", doc.Revocation)
	assert.Equal(t, []string{"RS256"}, doc.Algs)
	assert.NotContains(t, string(body), "backchannel_logout_supported")
	return doc.Issuer
}

// checkLogin checks the callback, the token response and the id_token of a
// login.
func checkLogin(t *testing.T, p *rp, tok *oauth2.Token, a authRequest) *oidc.IDToken {
	last := p.s.LastAuthorize()
	assert.Equal(t, "S256", last.Get("code_challenge_method"))
	assert.Equal(t, "Sign in to Example Bank", last.Get("context"))

	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, int64(1800), tok.ExpiresIn)
	assert.NotEmpty(t, tok.RefreshToken)
	assert.Equal(t, "corr-1234", tok.Extra("correlation_id"))

	idt, err := p.verify(tok)
	require.NoError(t, err)
	assert.Equal(t, a.nonce, idt.Nonce)
	assert.NoError(t, idt.VerifyAccessToken(tok.AccessToken))
	assert.Regexp(t, `^310999-[0-9a-f]{16}$`, idt.Subject)

	c := p.claims(tok)
	assert.Equal(t, clientID, c["aud"], "aud is a single string")
	assert.Equal(t, clientID, c["azp"])
	assert.Equal(t, "a3", c["acr"])
	assert.Equal(t, []any{"pin"}, c["amr"])
	assert.NotEmpty(t, c["sid"])
	assert.NotEmpty(t, c["auth_time"])
	assert.Equal(t, 1, p.s.Calls(zenkeytest.Token))
	return idt
}

// checkUserInfo checks ZenKey's nested claims at userinfo.
func checkUserInfo(t *testing.T, p *rp, tok *oauth2.Token, sub string) {
	status, info := p.userInfo(tok.AccessToken)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, sub, info["sub"])
	assert.Equal(t, map[string]any{"value": "jane.doe@example.com"}, info["email"])
	assert.Equal(t, "Jane", info["name"].(map[string]any)["given_name"])

	status, _ = p.userInfo("not-a-token")
	assert.Equal(t, http.StatusUnauthorized, status)
}

// checkRefresh refreshes tok, checks that the refresh token rotated and the
// id_token kept the login's claims, and returns the new tokens.
func checkRefresh(t *testing.T, p *rp, tok *oauth2.Token) *oauth2.Token {
	fresh, err := p.refresh(tok)
	require.NoError(t, err)
	assert.NotEqual(t, tok.RefreshToken, fresh.RefreshToken)
	assert.NotEqual(t, tok.AccessToken, fresh.AccessToken)
	assert.Equal(t, 1, p.s.Calls(zenkeytest.Refresh))
	assert.Equal(t, 1, p.s.Calls(zenkeytest.Token), "refreshes count apart")

	before, after := p.claims(tok), p.claims(fresh)
	for _, name := range []string{"sub", "auth_time", "nonce", "sid", "iss", "aud"} {
		assert.Equal(t, before[name], after[name], name)
	}

	_, err = p.refresh(tok)
	assert.Equal(t, "invalid_grant", retrieveError(t, err), "a used refresh token is dead")
	return fresh
}

// checkRevoke revokes both tokens and checks that they stop working.
func checkRevoke(t *testing.T, p *rp, tok *oauth2.Token) {
	assert.Equal(t, http.StatusOK, p.revoke(tok.AccessToken, "access_token"))
	assert.True(t, p.s.IsRevoked(tok.AccessToken))
	status, _ := p.userInfo(tok.AccessToken)
	assert.Equal(t, http.StatusUnauthorized, status)

	assert.Equal(t, http.StatusOK, p.revoke(tok.RefreshToken, ""))
	_, err := p.refresh(tok)
	assert.Equal(t, "invalid_grant", retrieveError(t, err))

	assert.Equal(t, http.StatusOK, p.revoke("never-issued", ""))
	assert.Equal(t, 2, p.s.RevokedCount())
	assert.False(t, p.s.IsRevoked("never-issued"))
	assert.Equal(t, 3, p.s.Calls(zenkeytest.Revoke))
}
