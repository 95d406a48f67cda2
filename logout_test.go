package zenkey_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

func TestLogoutRevokesTokensAfterDestroyingTheSession(t *testing.T) {
	h := newHarness(t, nil)
	h.login()
	issued := h.issuedTokens()

	p := h.do(h.browser, http.MethodPost, "/auth/logout", true)
	require.Equal(t, http.StatusOK, p.status)
	h.zk.WaitRevocations()

	assert.Equal(t, 2, h.idp.RevokedCount())
	assert.True(t, h.idp.IsRevoked(issued["refresh_token"]))
	assert.True(t, h.idp.IsRevoked(issued["access_token"]))
}

func TestLogoutIsPromptWhenRevocationFails(t *testing.T) {
	for name, misbehave := range map[string]func(*zenkeytest.Server){
		"down": func(s *zenkeytest.Server) {
			s.Fail(zenkeytest.Revoke,
				http.StatusInternalServerError)
		},
		"slow": func(s *zenkeytest.Server) { s.Delay(zenkeytest.Revoke, time.Minute) },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.login()
			misbehave(h.idp)

			start := time.Now()
			p := h.do(h.browser, http.MethodPost, "/auth/logout", true)

			assert.Less(t, time.Since(start), time.Second)
			assert.Equal(t, "home, signed out", p.body)
			assert.False(t, h.signedIn(h.browser))
		})
	}
}

func TestLogoutNeverClaimsWhatTheStoreDidNotConfirm(t *testing.T) {
	for name, fault := range map[string]func(*faultyStore){
		"delete fails":  func(f *faultyStore) { f.failDelete.Store(true) },
		"delete stalls": func(f *faultyStore) { f.stallDelete.Store(true) },
	} {
		t.Run(name, func(t *testing.T) {
			store := &faultyStore{Store: zenkey.NewMemoryStore()}
			h := newHarness(t, func(o *zenkey.Options) {
				o.Store = store
				o.StoreTimeout = 200 * time.Millisecond
			})
			h.login()
			fault(store)

			p := h.do(h.browser, http.MethodPost, "/auth/logout", true)

			assert.Equal(t, http.StatusServiceUnavailable, p.status)
			assert.NotContains(t, strings.ToLower(p.body), "signed out")
			u, _ := url.Parse(h.app.URL)
			require.Len(t, h.browser.Jar.Cookies(u), 1, "the cookie is kept for a retry")

			store.failDelete.Store(false)
			store.stallDelete.Store(false)
			p = h.do(h.browser, http.MethodPost, "/auth/logout", true)
			assert.Equal(t, "home, signed out", p.body, "the retry finishes the job")
			assert.False(t, h.signedIn(h.browser))
		})
	}
}

func TestStoreDownFailsClosed(t *testing.T) {
	store := &faultyStore{Store: zenkey.NewMemoryStore()}
	h := newHarness(t, func(o *zenkey.Options) { o.Store = store })
	h.login()
	store.failGet.Store(true)

	assert.Equal(t, http.StatusServiceUnavailable, h.do(h.browser, http.MethodGet, "/profile",
		false).status)
	assert.Equal(t, http.StatusServiceUnavailable, h.do(h.browser, http.MethodGet, "/profile",
		true).status,
		"not a redirect to login: the session may well exist")

	store.failGet.Store(false)
	assert.True(t, h.signedIn(h.browser), "recovers when the store returns")
}

func TestLogoutEverywhere(t *testing.T) {
	h := newHarness(t, func(o *zenkey.Options) { o.AllowLogoutEverywhere = true })
	h.login()
	laptop := h.newBrowser()
	h.do(laptop, http.MethodGet, "/profile", true)
	require.True(t, h.signedIn(laptop))

	req, _ := http.NewRequest(http.MethodPost, h.app.URL+"/auth/logout",
		strings.NewReader("everywhere=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := h.browser.Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	assert.False(t, h.signedIn(h.browser))
	assert.False(t, h.signedIn(laptop), "the other device's session is gone too")
}

// TestLogoutEverywhereNeedsALiveSession: a browser whose own session had
// already ended cannot say whose sessions to end. It is told so, never
// "signed out everywhere" while the user's other devices stay signed in.
func TestLogoutEverywhereNeedsALiveSession(t *testing.T) {
	h := newHarness(t, func(o *zenkey.Options) {
		o.AllowLogoutEverywhere = true
		o.IdleTimeout = 10 * time.Minute
	})
	h.login()
	h.clock.Advance(9 * time.Minute)
	laptop := h.newBrowser()
	h.do(laptop, http.MethodGet, "/profile", true)
	h.clock.Advance(2 * time.Minute) // the first browser's session ended

	p := h.postForm(h.browser, "/auth/logout", url.Values{"everywhere": {"1"}})

	assert.Equal(t, http.StatusConflict, p.status)
	assert.Contains(t, p.body, "other devices are still signed in")
	assert.Empty(t, h.cookies(h.browser), "the ended session's cookie is cleared")
	assert.True(t, h.signedIn(laptop), "and nothing claimed the laptop was signed out")
}

func TestLogoutSubjectAPI(t *testing.T) {
	h := newHarness(t, nil)
	h.login()
	other := h.newBrowser()
	h.do(other, http.MethodGet, "/profile", true)

	n, err := h.zk.LogoutSubject(t.Context(), testSubject)

	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.False(t, h.signedIn(h.browser))
	assert.False(t, h.signedIn(other))
}

// TestNoResurrection races a logout against requests that write the
// session (touches), thousands of times per store: after the logout
// answered, the session never comes back.
func TestNoResurrection(t *testing.T) {
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) {
			open := kind.open(t)
			clk := newClock()
			zk, err := zenkey.New(zenkey.Options{
				ClientID: testClientID, ClientSecret: testSecret,
				RedirectURL: "https://app.test/auth/callback", SecretKey: testMasterKey,
				Store: open(), Now: clk.Now, IdleTimeout: 4 * time.Hour,
			})
			require.NoError(t, err)
			app := zk.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if zenkey.SessionFromContext(r.Context()) == nil {
					w.WriteHeader(http.StatusUnauthorized)
				}
			}))
			check := open()
			// About 5 s per store under -race; -short runs 500.
			rounds := map[string]int{"memory": 3000, "sqlite": 1000, "redis": 3000,
				"postgres": 2000}[kind.name]
			if testing.Short() {
				rounds = 500
			}
			for range rounds {
				raceOnce(t, zk, app, check, clk)
			}
		})
	}
}

func raceOnce(t *testing.T, zk *zenkey.Middleware, app http.Handler, store zenkey.Store,
	clk *clock) {
	cookie, key, err := zk.NewTestSession(t.Context(), "310999-racer")
	require.NoError(t, err)
	clk.Advance(2 * time.Minute) // every request now touches: a write

	request := func(method, path string) int {
		r := httptest.NewRequest(method, "https://app.test"+path, nil)
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		return w.Code
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { request(http.MethodGet, "/") })
	}
	var logout int
	wg.Go(func() { logout = request(http.MethodPost, "/auth/logout") })
	wg.Wait()

	require.Equal(t, http.StatusSeeOther, logout)
	_, err = store.Get(t.Context(), key)
	require.ErrorIs(t, err, zenkey.ErrNotFound, "the session came back")
	require.Equal(t, http.StatusUnauthorized, request(http.MethodGet, "/"))
}
