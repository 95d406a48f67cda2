package zenkeytest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/zenkey-go/zenkey/zenkeytest"
)

func TestEditClaims(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	p.s.EditClaims(func(c map[string]any) { c["aud"] = "another-client" })
	tok, _ := p.login(nil)
	_, err := p.verify(tok)
	require.ErrorContains(t, err, "audience")

	t.Run("applies on refresh", func(t *testing.T) {
		p.s.EditClaims(func(c map[string]any) { c["sub"] = "310999-someone-else" })
		fresh, err := p.refresh(tok)
		require.NoError(t, err)
		assert.Equal(t, "310999-someone-else", p.claims(fresh)["sub"])
	})

	t.Run("nil removes it", func(t *testing.T) {
		p.s.EditClaims(nil)
		tok, _ := p.login(nil)
		_, err := p.verify(tok)
		require.NoError(t, err)
	})
}

func TestEditIDToken(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	p.s.EditIDToken(func(jwt string) string { return jwt[:10] + "\n" + jwt[10:] })
	tok, _ := p.login(nil)
	raw := tok.Extra("id_token").(string)
	assert.Equal(t, "\n", raw[10:11])
	assert.Len(t, strings.Split(strings.ReplaceAll(raw, "\n", ""), "."), 3)
}

func TestSignWithUnpublishedKey(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	p.s.SignWithUnpublishedKey(true)
	tok, _ := p.login(nil)
	_, err := p.verify(tok)
	require.ErrorContains(t, err, "signature")
	assert.Contains(t, publishedKIDs(t, p), kid(t, tok.Extra("id_token").(string)),
		"the kid is a published one")

	p.s.SignWithUnpublishedKey(false)
	tok, _ = p.login(nil)
	_, err = p.verify(tok)
	require.NoError(t, err)
}

func TestRotateKey(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	old, _ := p.login(nil)

	p.s.RotateKey(true)
	rotated, _ := p.login(nil)
	assert.NotEqual(t, kid(t, old.Extra("id_token").(string)),
		kid(t, rotated.Extra("id_token").(string)))
	assert.Len(t, publishedKIDs(t, p), 2)
	for _, tok := range []*oauth2.Token{old, rotated} {
		_, err := newRPFor(t, p.s).verify(tok)
		require.NoError(t, err, "both keys are published")
	}

	p.s.RotateKey(false)
	assert.Len(t, publishedKIDs(t, p), 1)
	_, err := newRPFor(t, p.s).verify(old)
	require.Error(t, err, "the old key is gone")
}

func TestFail(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	tok, _ := p.login(nil)

	p.s.Fail(zenkeytest.UserInfo, http.StatusServiceUnavailable)
	status, body := p.userInfo(tok.AccessToken)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Equal(t, "temporarily_unavailable", body["error"])

	p.s.Fail(zenkeytest.Refresh, http.StatusInternalServerError)
	_, err := p.refresh(tok)
	assert.Equal(t, "server_error", retrieveError(t, err))
	p.login(nil) // the code exchange is a Token call, not a Refresh one

	p.s.Fail(zenkeytest.Authorize, http.StatusBadGateway)
	resp, err := p.browser.Get(p.url(newAuthRequest(nil)))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)

	p.s.Heal()
	status, _ = p.userInfo(tok.AccessToken)
	assert.Equal(t, http.StatusOK, status)
	_, err = p.refresh(tok)
	assert.NoError(t, err, "the failed refresh did not use the token")
	assert.Equal(t, 2, p.s.Calls(zenkeytest.UserInfo), "failed calls count too")
}

func TestDelay(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	p.s.Delay(zenkeytest.Configuration, 20*time.Millisecond)
	start := time.Now()
	newRPFor(t, p.s)
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)

	t.Run("ends when the client gives up", func(t *testing.T) {
		p.s.Delay(zenkeytest.JWKS, time.Hour)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.s.Issuer+"/jwks", nil)
		require.NoError(t, err)
		_, err = p.s.Client().Do(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		// Close would block for an hour if the handler still waited.
	})
}

func TestMisbehave(t *testing.T) {
	for _, tt := range []struct {
		m           zenkeytest.Misbehavior
		contentType string
		check       func(t *testing.T, body []byte)
	}{
		{zenkeytest.GarbageBody, "application/json", func(t *testing.T, body []byte) {
			assert.NotEmpty(t, body)
			assert.False(t, json.Valid(body), "%q", body)
		}},
		{zenkeytest.EnormousBody, "application/json", func(t *testing.T, body []byte) {
			// A JSON object, too big: json.Valid would take seconds
			// under the race detector.
			assert.Len(t, body, zenkeytest.EnormousSize)
			assert.True(t, bytes.HasPrefix(body, []byte(`{"padding":"aaaa`)), "%.20q", body)
			assert.True(t, bytes.HasSuffix(body, []byte(`aaaa"}`)))
		}},
		{zenkeytest.HTMLPage, "text/html; charset=utf-8", func(t *testing.T, body []byte) {
			assert.True(t, strings.HasPrefix(string(body), "<!doctype html>"), "%q", body)
		}},
	} {
		t.Run(string(tt.m), func(t *testing.T) {
			p := newRP(t, zenkeytest.Config{})
			p.s.Misbehave(zenkeytest.JWKS, tt.m)

			resp, err := p.s.Client().Get(p.s.Issuer + "/jwks")
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, tt.contentType, resp.Header.Get("Content-Type"))
			tt.check(t, body)
			assert.Equal(t, int64(len(body)), p.s.Sent(zenkeytest.JWKS))

			p.s.Misbehave(zenkeytest.JWKS, zenkeytest.Behave)
			assert.Len(t, publishedKIDs(t, p), 1)
		})
	}
}

func TestMisbehavePanicsOnAnUnknownMisbehavior(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	assert.PanicsWithValue(t, `zenkeytest: unknown Misbehavior "slow"`, func() {
		p.s.Misbehave(zenkeytest.Token, "slow")
	})
}

func TestMisbehaveEnormousBodyStopsWhenTheClientHangsUp(t *testing.T) {
	s := zenkeytest.NewServer(zenkeytest.Config{ClientID: clientID, ClientSecret: clientSecret})
	defer s.Close()
	s.Misbehave(zenkeytest.UserInfo, zenkeytest.EnormousBody)

	resp, err := s.Client().Get(s.Issuer + "/userinfo")
	require.NoError(t, err)
	_, err = io.ReadFull(resp.Body, make([]byte, 64<<10))
	require.NoError(t, err)
	assert.Equal(t, int64(-1), resp.ContentLength, "no length to refuse it by")
	resp.Body.Close() // unread: the connection closes

	s.Close() // waits for the handler to give up
	assert.Less(t, s.Sent(zenkeytest.UserInfo), int64(zenkeytest.EnormousSize/2))
}

func TestMisbehaveHangUp(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	tok, _ := p.login(nil)
	p.s.Misbehave(zenkeytest.Refresh, zenkeytest.HangUp)
	p.s.Misbehave(zenkeytest.UserInfo, zenkeytest.HangUp)

	_, err := p.refresh(tok)
	require.ErrorContains(t, err, "EOF")
	req, err := http.NewRequest(http.MethodGet, p.provider.UserInfoEndpoint(), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	_, err = p.s.Client().Do(req)
	require.ErrorContains(t, err, "EOF")
	assert.GreaterOrEqual(t, p.s.Calls(zenkeytest.UserInfo), 1)
	assert.Zero(t, p.s.Sent(zenkeytest.UserInfo))

	p.s.Heal()
	status, _ := p.userInfo(tok.AccessToken)
	assert.Equal(t, http.StatusOK, status)
	_, err = p.refresh(tok)
	assert.NoError(t, err, "the refresh token survived the hang-up")
}

func TestMisbehaveLeavesGrantsUsable(t *testing.T) {
	for _, m := range []zenkeytest.Misbehavior{
		zenkeytest.GarbageBody, zenkeytest.EnormousBody, zenkeytest.HTMLPage,
	} {
		t.Run(string(m), func(t *testing.T) {
			p := newRP(t, zenkeytest.Config{})
			a := newAuthRequest(nil)
			code := p.authorize(a).Get("code")

			p.s.Misbehave(zenkeytest.Token, m)
			_, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(a.verifier))
			require.Error(t, err)

			p.s.Heal()
			tok, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(a.verifier))
			require.NoError(t, err, "the code survived the misbehaviour")
			p.s.Misbehave(zenkeytest.Refresh, m)
			_, err = p.refresh(tok)
			require.Error(t, err)
			p.s.Misbehave(zenkeytest.Refresh, zenkeytest.Behave)
			_, err = p.refresh(tok)
			require.NoError(t, err, "the refresh token survived the misbehaviour")
		})
	}
}

func TestMisbehaveAndFailReplaceEachOther(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	tok, _ := p.login(nil)
	get := func() (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, p.provider.UserInfoEndpoint(), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := p.s.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Content-Type")
	}

	p.s.Misbehave(zenkeytest.UserInfo, zenkeytest.HTMLPage)
	p.s.Fail(zenkeytest.UserInfo, http.StatusServiceUnavailable)
	status, _ := get()
	assert.Equal(t, http.StatusServiceUnavailable, status)

	p.s.Misbehave(zenkeytest.UserInfo, zenkeytest.HTMLPage)
	status, ct := get()
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "text/html; charset=utf-8", ct)

	p.s.Fail(zenkeytest.UserInfo, 0)
	status, ct = get()
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "application/json", ct)
}

func TestHideKeys(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	tok, _ := p.login(nil)
	p.s.HideKeys(true)

	resp, err := p.s.Client().Get(p.s.Issuer + "/jwks")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.JSONEq(t, `{"keys":[]}`, string(body), "an empty set, not null")
	_, err = newRPFor(t, p.s).verify(tok)
	require.Error(t, err, "no key to verify with")

	p.s.HideKeys(false)
	_, err = newRPFor(t, p.s).verify(tok)
	require.NoError(t, err)
}

func TestSetTokenError(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	a := newAuthRequest(nil)
	code := p.authorize(a).Get("code")

	p.s.SetTokenError("invalid_grant")
	_, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(a.verifier))
	assert.Equal(t, "invalid_grant", retrieveError(t, err))

	p.s.SetTokenError("")
	_, err = p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(a.verifier))
	assert.NoError(t, err, "the code survived the simulated error")
}

func TestSetAuthorizeError(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	p.s.SetAuthorizeError("user_not_found", "no ZenKey account")
	a := newAuthRequest(nil)
	cb := p.authorize(a)
	assert.Equal(t, "user_not_found", cb.Get("error"))
	assert.Equal(t, "no ZenKey account", cb.Get("error_description"))
	assert.Equal(t, a.state, cb.Get("state"))
	assert.False(t, cb.Has("code"))

	p.s.SetAuthorizeError("", "")
	assert.NotEmpty(t, p.authorize(newAuthRequest(nil)).Get("code"))
}

func TestSetSubject(t *testing.T) {
	p := newRP(t, zenkeytest.Config{Subject: "310999-first"})
	first, _ := p.login(nil)
	p.s.SetSubject("310999-second")
	second, _ := p.login(nil)
	assert.Equal(t, "310999-second", p.claims(second)["sub"])

	fresh, err := p.refresh(first)
	require.NoError(t, err)
	assert.Equal(t, "310999-first", p.claims(fresh)["sub"], "a login keeps its sub")
	_, info := p.userInfo(fresh.AccessToken)
	assert.Equal(t, "310999-first", info["sub"])
}

func TestSetLoginHintToken(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	p.s.SetLoginHintToken("hint-123")
	loc := p.redirect(p.s.DiscoveryUIURL + "?" + url.Values{
		"client_id": {clientID}, "redirect_uri": {redirectURL}, "state": {"s"}, "prompt": {"true"},
	}.Encode())
	assert.Equal(t, "hint-123", loc.Query().Get("login_hint_token"))
	assert.Equal(t, "true", p.s.LastDiscoveryUI().Get("prompt"))
}

func TestSetUserInfo(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	tok, _ := p.login(nil)
	claims := map[string]any{"email": map[string]any{"value": "x@example.com"}}
	p.s.SetUserInfo(claims)
	claims["email"] = "changed later" // the server kept a copy

	_, info := p.userInfo(tok.AccessToken)
	assert.Equal(t, map[string]any{"value": "x@example.com"}, info["email"])
	assert.NotEmpty(t, info["sub"])
	assert.NotContains(t, info, "name")

	p.s.SetUserInfo(map[string]any{"sub": "310999-mismatch"})
	_, info = p.userInfo(tok.AccessToken)
	assert.Equal(t, "310999-mismatch", info["sub"])
}

func TestHeal(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	p.s.EditClaims(func(c map[string]any) { c["iss"] = "https://evil.example" })
	p.s.EditIDToken(func(string) string { return "garbage" })
	p.s.SignWithUnpublishedKey(true)
	p.s.SetAuthorizeError("request_denied", "")
	p.s.SetTokenError("invalid_grant")
	p.s.Fail(zenkeytest.JWKS, http.StatusInternalServerError)
	p.s.Misbehave(zenkeytest.Token, zenkeytest.HangUp)
	p.s.Misbehave(zenkeytest.Authorize, zenkeytest.HTMLPage)
	p.s.HideKeys(true)
	p.s.Delay(zenkeytest.Token, time.Hour)
	p.s.Heal()

	tok, _ := p.login(nil)
	_, err := p.verify(tok)
	require.NoError(t, err)
}

func TestClock(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p := newRP(t, zenkeytest.Config{Now: clock, ExpiresIn: time.Minute})

	tok, _ := p.login(nil)
	assert.Equal(t, int64(60), tok.ExpiresIn)
	idt, err := p.provider.Verifier(&oidc.Config{ClientID: clientID, Now: clock}).
		Verify(p.ctx, tok.Extra("id_token").(string))
	require.NoError(t, err)
	assert.Equal(t, now, idt.IssuedAt.UTC())
	assert.Equal(t, now.Add(time.Hour), idt.Expiry.UTC())

	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	status, _ := p.userInfo(tok.AccessToken)
	assert.Equal(t, http.StatusUnauthorized, status, "the access token expired")

	fresh, err := p.refresh(tok)
	require.NoError(t, err)
	before, after := p.claimsAt(tok, clock), p.claimsAt(fresh, clock)
	assert.Equal(t, before["auth_time"], after["auth_time"])
	assert.NotEqual(t, before["iat"], after["iat"])
}

// claimsAt returns the claims of tok's id_token, verified at clock's time.
func (p *rp) claimsAt(tok *oauth2.Token, clock func() time.Time) map[string]any {
	p.t.Helper()
	idt, err := p.provider.Verifier(&oidc.Config{ClientID: clientID, Now: clock}).
		Verify(p.ctx, tok.Extra("id_token").(string))
	require.NoError(p.t, err)
	var c map[string]any
	require.NoError(p.t, idt.Claims(&c))
	return c
}

func TestLogoutToken(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	tok, _ := p.login(nil)
	c := p.claims(tok)
	sub, sid := c["sub"].(string), c["sid"].(string)

	raw := p.s.LogoutToken(sub, sid)
	lt, err := p.verifier().VerifyLogout(p.ctx, raw)
	require.NoError(t, err)
	assert.Equal(t, sub, lt.Subject)
	assert.Equal(t, sid, lt.SessionID)
	assert.NotEmpty(t, lt.TokenID)
	assert.Equal(t, 2*time.Minute, lt.Expiry.Sub(lt.IssuedAt))
	assert.Equal(t, "logout+jwt", header(t, raw)["typ"])

	payload := payload(t, p.s.LogoutToken("", sid))
	assert.NotContains(t, payload, "sub", "an empty sub is left out")
	assert.Contains(t, payload["events"], "http://schemas.openid.net/event/backchannel-logout")

	bad := p.s.SignLogoutToken(map[string]any{"iss": p.s.Issuer, "aud": clientID, "nonce": "x"})
	_, err = p.verifier().VerifyLogout(p.ctx, bad)
	require.Error(t, err)
	assert.Equal(t, "logout+jwt", header(t, bad)["typ"])
}

func TestIDToken(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	now := time.Now()
	raw := p.s.IDToken(map[string]any{
		"iss": p.s.Issuer, "aud": clientID, "sub": "310999-x",
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	})
	idt, err := p.verifier().Verify(p.ctx, raw)
	require.NoError(t, err)
	assert.Equal(t, "310999-x", idt.Subject)
	assert.Equal(t, "JWT", header(t, raw)["typ"])
}

// publishedKIDs returns the kids of the provider's JWKS.
func publishedKIDs(t *testing.T, p *rp) []string {
	t.Helper()
	resp, err := p.s.Client().Get(p.s.Issuer + "/jwks")
	require.NoError(t, err)
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	var kids []string
	for _, k := range set.Keys {
		assert.Equal(t, "RS256", k.Algorithm)
		assert.True(t, k.IsPublic())
		kids = append(kids, k.KeyID)
	}
	return kids
}

// kid returns the kid in a JWT's header.
func kid(t *testing.T, jwt string) string {
	t.Helper()
	return header(t, jwt)["kid"].(string)
}

// header decodes a compact JWT's header.
func header(t *testing.T, jwt string) map[string]any {
	t.Helper()
	return segment(t, jwt, 0)
}

// payload decodes a compact JWT's payload without verifying it.
func payload(t *testing.T, jwt string) map[string]any {
	t.Helper()
	return segment(t, jwt, 1)
}

// segment decodes the i-th segment of a compact JWT as a JSON object.
func segment(t *testing.T, jwt string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

// TestConcurrentUse runs logins, refreshes and userinfo calls while the
// switches flip, for the race detector.
func TestConcurrentUse(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	var wg sync.WaitGroup
	errs := make(chan error, 8*5)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				errs <- tryFlow(p) // none of the switches breaks a flow
			}
		})
	}
	wg.Go(func() {
		p.s.AddPreviousCarrier("311480", "311480-old")
		for i := range 4 {
			p.s.EditClaims(func(c map[string]any) { c["n"] = i })
			p.s.EchoContext(i%2 == 0)
			p.s.SetClientKey(&clientKey().PublicKey, false)
			_ = p.s.LastClientAssertion()
			p.s.Fail(zenkeytest.UserInfo, http.StatusInternalServerError)
			p.s.Misbehave(zenkeytest.Revoke, zenkeytest.HangUp)
			p.s.HideKeys(i%2 == 1)
			_ = p.s.Sent(zenkeytest.Token)
			p.s.SetSubject(fmt.Sprint("310999-", i))
			p.s.RotateKey(i%2 == 0)
			p.s.Heal()
			_ = p.s.LogoutToken("sub", "sid")
			_ = p.s.Calls(zenkeytest.Token)
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	tok, _ := p.login(nil)
	_, err := newRPFor(t, p.s).verify(tok)
	require.NoError(t, err)
}

// tryFlow logs in, refreshes and calls userinfo, and reports the first error.
// Unlike the rp's methods, it does not stop the test, so any goroutine may
// call it.
func tryFlow(p *rp) error {
	a := newAuthRequest(nil)
	resp, err := p.browser.Get(p.url(a))
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		return err
	}
	code := loc.Query().Get("code")
	tok, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		return err
	}
	if _, err := p.refresh(tok); err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodGet, p.provider.UserInfoEndpoint(), nil)
	if err != nil {
		return err
	}
	tok.SetAuthHeader(req)
	resp, err = p.s.Client().Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
