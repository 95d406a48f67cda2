package zenkey_test

import (
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

// pairCase is one test run on a fresh instancePair, whose options edit
// changes when it is not nil.
type pairCase struct {
	name string
	edit func(*zenkey.Options)
	run  func(t *testing.T, p *instancePair)
}

// runOnEveryStore runs each case on every store, with two app instances
// sharing it, and waits for the revocations each case started.
func runOnEveryStore(t *testing.T, tests []pairCase) {
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					p := newInstancePair(t, kind, tt.edit)
					tt.run(t, p)
					p.a.zk.WaitRevocations()
					p.b.zk.WaitRevocations()
				})
			}
		})
	}
}

// TestLogoutFaultsOnEveryStore runs, on every store, the logouts that meet
// a fault or a provider of their own: a stalled store answers 503 within
// StoreTimeout and never "signed out"; a revocation endpoint that is down
// or slow never delays or fails the logout; the provider's end_session
// redirect follows only a deletion the store confirmed; and an invalid
// back-channel logout token is refused without touching the session.
func TestLogoutFaultsOnEveryStore(t *testing.T) {
	runOnEveryStore(t, []pairCase{
		{"a stalled delete answers 503 in time and keeps the cookie", func(o *zenkey.Options) {
			o.StoreTimeout = storeTimeout
		}, testStalledDelete},
		{"revocation endpoint down", nil, testRevocationDown},
		{"revocation endpoint slow", nil, testRevocationSlow},
		{"provider logout after the store confirmed", func(o *zenkey.Options) {
			o.ProviderLogout = true
		}, testProviderLogout},
		{"invalid back-channel logout tokens leave the session", nil, testInvalidLogoutTokens},
	})
}

// TestSessionEndsOnEveryStore runs, on every store, the other ends of a
// session: its idle and absolute timeouts, and a refresh that shows it must
// end. Whichever instance saw the end, the other refuses the session too.
func TestSessionEndsOnEveryStore(t *testing.T) {
	runOnEveryStore(t, []pairCase{
		{"idle timeout", func(o *zenkey.Options) {
			o.IdleTimeout = 10 * time.Minute
		}, testIdleTimeout},
		{"absolute timeout", func(o *zenkey.Options) {
			o.IdleTimeout = 10 * time.Minute
			o.AbsoluteTimeout = 30 * time.Minute
		}, testAbsoluteTimeout},
		{"refresh answered invalid_grant", longSessions, testRefreshInvalidGrant},
		{"refresh with another subject", longSessions, testRefreshAnotherSubject},
	})
}

// testStalledDelete stalls A's store deletes during a logout: the answer
// comes within StoreTimeout, a 503 error page with the cookie kept, the
// session still works on both instances and nothing is revoked. The retry
// then logs out for real.
func testStalledDelete(t *testing.T, p *instancePair) {
	a, b := p.a, p.b
	a.login()
	stolen := a.cookies(a.browser)
	p.faults.stallDelete.Store(true)

	start := time.Now()
	page := a.do(a.browser, http.MethodPost, "/auth/logout", true)

	assert.Less(t, time.Since(start), storeTimeout+time.Second, "no hang")
	assertErrorPage(t, page, http.StatusServiceUnavailable)
	assert.NotContains(t, strings.ToLower(page.body), "signed out")
	require.Len(t, a.cookies(a.browser), 1, "the cookie is kept for a retry")
	assert.True(t, a.signedIn(a.browser), "the session still works on A")
	assert.True(t, b.signedIn(a.browser), "and on B")
	a.zk.WaitRevocations()
	assert.Zero(t, a.idp.Calls(zenkeytest.Revoke), "no revocation for a session that is not gone")

	p.faults.stallDelete.Store(false)
	page = a.do(a.browser, http.MethodPost, "/auth/logout", true)

	assert.Equal(t, "home, signed out", page.body, "the retry finishes the job")
	assert.Equal(t, http.StatusUnauthorized, b.replay(stolen))
	assert.Equal(t, http.StatusUnauthorized, a.replay(stolen))
}

// testRevocationDown fails the provider's revocation endpoint: the logout
// still answers "signed out" at once, the session is gone on both
// instances, and both tokens were tried.
func testRevocationDown(t *testing.T, p *instancePair) {
	a, b := p.a, p.b
	a.login()
	stolen := a.cookies(a.browser)
	a.idp.Fail(zenkeytest.Revoke, http.StatusInternalServerError)

	start := time.Now()
	page := a.do(a.browser, http.MethodPost, "/auth/logout", true)

	assert.Less(t, time.Since(start), time.Second)
	assert.Equal(t, "home, signed out", page.body, "a failed revocation is not a failed logout")
	assert.Equal(t, http.StatusUnauthorized, b.replay(stolen))
	assert.Equal(t, http.StatusUnauthorized, a.replay(stolen))
	a.zk.WaitRevocations()
	assert.Equal(t, 2, a.idp.Calls(zenkeytest.Revoke), "both tokens were tried")
	assert.Zero(t, a.idp.RevokedCount())
}

// testRevocationSlow holds the app's revocation requests: the logout
// answers "signed out" within a second all the same, the session is gone on
// both instances, and once the provider answers, the tokens are revoked.
func testRevocationSlow(t *testing.T, p *instancePair) {
	a, b := p.a, p.b
	a.login()
	issued := a.issuedTokens()
	stolen := a.cookies(a.browser)
	p.revocations.hold()
	defer p.revocations.letGo()

	start := time.Now()
	page := a.do(a.browser, http.MethodPost, "/auth/logout", true)

	assert.Less(t, time.Since(start), time.Second, "the logout did not wait for the provider")
	assert.Equal(t, "home, signed out", page.body)
	assert.Equal(t, http.StatusUnauthorized, b.replay(stolen))
	assert.Equal(t, http.StatusUnauthorized, a.replay(stolen))
	assert.Zero(t, a.idp.Calls(zenkeytest.Revoke), "the provider has not answered yet")

	p.revocations.letGo()
	a.zk.WaitRevocations()
	assert.True(t, a.idp.IsRevoked(issued["refresh_token"]), "the late revocation went through")
	assert.True(t, a.idp.IsRevoked(issued["access_token"]))
}

// testProviderLogout: with Options.ProviderLogout, the logout sends the
// browser to the provider's end_session_endpoint, naming the client and no
// token, and the provider sends it home. A deletion the store did not
// confirm sends the browser nowhere.
func testProviderLogout(t *testing.T, p *instancePair) {
	a, b := p.a, p.b
	a.login()
	stolen := a.cookies(a.browser)
	var endSession *url.URL
	browser := *a.browser
	browser.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasSuffix(req.URL.Path, "/end_session") {
			endSession = req.URL
		}
		return nil
	}
	p.faults.failDelete.Store(true)

	page := a.do(&browser, http.MethodPost, "/auth/logout", true)

	assert.Equal(t, http.StatusServiceUnavailable, page.status)
	assert.Nil(t, endSession, "the provider is not told of a logout the store did not confirm")
	assert.True(t, b.signedIn(a.browser))

	p.faults.failDelete.Store(false)
	page = a.do(&browser, http.MethodPost, "/auth/logout", true)

	require.NotNil(t, endSession, "the browser went to the provider")
	q := endSession.Query()
	assert.Equal(t, testClientID, q.Get("client_id"))
	assert.Equal(t, a.app.URL+"/", q.Get("post_logout_redirect_uri"))
	assert.NotEmpty(t, q.Get("state"))
	assert.Empty(t, q.Get("id_token_hint"), "a token never travels in a URL")
	assert.Equal(t, "home, signed out", page.body, "and the provider sent it home")
	assert.Equal(t, http.StatusUnauthorized, b.replay(stolen))
	assert.Equal(t, http.StatusUnauthorized, a.replay(stolen))
}

// testInvalidLogoutTokens posts invalid logout tokens for the session's
// provider session id to both instances in turn: each is refused with 400
// and Cache-Control: no-store, and the session lives on. No refusal uses up
// the jti the tokens share: a valid token with it then ends the session.
func testInvalidLogoutTokens(t *testing.T, p *instancePair) {
	a, b := p.a, p.b
	a.login()
	sid, _ := a.idTokenClaims()["sid"].(string)
	require.NotEmpty(t, sid)
	stolen := a.cookies(a.browser)
	jti := randomSuffix()
	valid := func() map[string]any {
		now := a.clock.Now()
		return map[string]any{
			"iss": a.opts.Issuer, "aud": testClientID, "iat": now.Unix(),
			"exp": now.Add(2 * time.Minute).Unix(), "jti": jti, "sid": sid,
			"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
		}
	}
	signed := func(edit func(c map[string]any)) func() string {
		return func() string {
			c := valid()
			edit(c)
			return a.idp.SignLogoutToken(c)
		}
	}
	invalid := []struct {
		name  string
		token func() string
	}{
		{"wrong issuer", signed(func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{"wrong audience", signed(func(c map[string]any) { c["aud"] = "other" })},
		{"no jti", signed(func(c map[string]any) { delete(c, "jti") })},
		{"another event too", signed(func(c map[string]any) {
			c["events"].(map[string]any)["http://example.com/other"] = map[string]any{}
		})},
		{"a nonce", signed(func(c map[string]any) { c["nonce"] = "n" })},
		{"neither sub nor sid", signed(func(c map[string]any) { delete(c, "sid") })},
		{"stale iat", signed(func(c map[string]any) {
			c["iat"] = a.clock.Now().Add(-time.Hour).Unix()
		})},
		{"an id_token", func() string { return a.issuedTokens()["id_token"] }},
		{"bad signature", func() string {
			a.idp.SignWithUnpublishedKey(true)
			defer a.idp.SignWithUnpublishedKey(false)
			return a.idp.SignLogoutToken(valid())
		}},
	}
	for i, tt := range invalid {
		to := []*harness{a, b}[i%2]

		status, header := to.postLogoutToken(tt.token())

		assert.Equal(t, http.StatusBadRequest, status, tt.name)
		assert.Equal(t, "no-store", header.Get("Cache-Control"), tt.name)
	}
	assert.True(t, a.signedIn(a.browser), "invalid tokens log no one out on A")
	assert.True(t, b.signedIn(a.browser), "nor on B")

	status, _ := b.postLogoutToken(a.idp.SignLogoutToken(valid()))

	assert.Equal(t, http.StatusOK, status, "the jti of the refused tokens is still unused")
	assert.Equal(t, http.StatusUnauthorized, a.replay(stolen))
	assert.Equal(t, http.StatusUnauthorized, b.replay(stolen))
}

// testIdleTimeout: activity on either instance moves the idle deadline for
// both; without activity, the session ends on both.
func testIdleTimeout(t *testing.T, p *instancePair) {
	a, b := p.a, p.b
	a.login()
	stolen := a.cookies(a.browser)

	a.clock.Advance(9 * time.Minute)
	require.True(t, b.signedIn(a.browser), "activity on B moves the idle deadline")
	a.clock.Advance(9 * time.Minute)
	require.True(t, a.signedIn(a.browser), "for A too")
	a.clock.Advance(11 * time.Minute)

	assert.Equal(t, http.StatusUnauthorized, a.replay(stolen), "idle for 11 minutes: ended on A")
	assert.Equal(t, http.StatusUnauthorized, b.replay(stolen), "and on B")
}

// testAbsoluteTimeout: activity on both instances keeps the session within
// its idle timeout, yet it ends on both at its absolute timeout.
func testAbsoluteTimeout(t *testing.T, p *instancePair) {
	a, b := p.a, p.b
	a.login()
	stolen := a.cookies(a.browser)

	for i, h := range []*harness{b, a, b} {
		a.clock.Advance(8 * time.Minute)
		require.True(t, h.signedIn(a.browser), "%d minutes after login", 8*(i+1))
	}
	a.clock.Advance(8 * time.Minute)

	assert.Equal(t, http.StatusUnauthorized, a.replay(stolen), "32 minutes after login: ended on A")
	assert.Equal(t, http.StatusUnauthorized, b.replay(stolen), "and on B")
}

func testRefreshInvalidGrant(t *testing.T, p *instancePair) {
	refreshEnds(t, p, func(h *harness) { h.idp.SetTokenError("invalid_grant") })
}

func testRefreshAnotherSubject(t *testing.T, p *instancePair) {
	refreshEnds(t, p, editClaims(func(c map[string]any) { c["sub"] = "310999-somebody-else" }))
}

// refreshEnds signs in through A, lets the access token expire and has the
// provider answer A's refresh as provoke makes it: the request gets 401,
// A's store confirmed the session's deletion, and a copy of the cookie is
// refused by both instances, also once the provider behaves again.
func refreshEnds(t *testing.T, p *instancePair, provoke func(*harness)) {
	a, b := p.a, p.b
	a.tokenRoute()
	b.tokenRoute()
	a.login()
	stolen := a.cookies(a.browser)
	a.clock.Advance(30 * time.Minute)
	provoke(a)
	p.journal.reset()

	page := a.do(a.browser, http.MethodGet, "/token", false)

	assert.Equal(t, http.StatusUnauthorized, page.status, page.body)
	assert.Equal(t, 1, a.idp.Calls(zenkeytest.Refresh))
	assert.Contains(t, p.journal.entries(), "store deleted",
		"the session was destroyed, not only refused")
	a.idp.Heal()
	assert.Equal(t, http.StatusUnauthorized, b.replay(stolen), "gone on B")
	assert.Equal(t, http.StatusUnauthorized, a.replay(stolen), "and on A")
}
