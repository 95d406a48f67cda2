package zenkeyprom_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeyprom"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

const (
	clientID = "zenkeyprom-client"
	secret   = "zenkeyprom-secret"
	subject  = "310999-0123456789abcdef"
)

// app is the middleware with metrics, a provider, and a browser that
// walks the real redirects.
type app struct {
	t       *testing.T
	reg     *prometheus.Registry
	idp     *zenkeytest.Server
	zk      *zenkey.Middleware
	server  *httptest.Server
	store   *flakyStore
	now     atomic.Int64 // the clock, in Unix seconds
	browser *http.Client
}

func newApp(t *testing.T, edit func(*zenkey.Options)) *app {
	a := &app{t: t, reg: prometheus.NewRegistry()}
	a.now.Store(time.Now().Unix())
	clock := func() time.Time { return time.Unix(a.now.Load(), 0) }
	a.idp = zenkeytest.NewTLSServer(zenkeytest.Config{
		ClientID: clientID, ClientSecret: secret, Subject: subject, Now: clock,
	})
	t.Cleanup(a.idp.Close)

	var handler http.Handler
	a.server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(a.server.Close)

	metrics := zenkeyprom.New(a.reg)
	a.store = &flakyStore{Store: zenkey.NewMemoryStore()}
	opts := zenkey.Options{
		ClientID:       clientID,
		ClientSecret:   secret,
		RedirectURL:    a.server.URL + "/auth/callback",
		SecretKey:      []byte("zenkeyprom-test-master-secret-0123456789"),
		DiscoveryUIURL: a.idp.DiscoveryUIURL,
		DiscoveryURL:   a.idp.DiscoveryURL,
		HTTPClient:     a.idp.Client(),
		Store:          metrics.Store(a.store),
		OnEvent:        metrics.OnEvent,
		IdleTimeout:    4 * time.Hour,
		Now:            clock,
	}
	if edit != nil {
		edit(&opts)
	}
	var err error
	a.zk, err = zenkey.New(opts)
	require.NoError(t, err)

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") })
	mux.Handle("/profile", a.zk.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		io.WriteString(w, "profile")
	})))
	mux.Handle("/token", a.zk.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		if _, err := zenkey.SessionFromContext(r.Context()).AccessToken(r.Context()); err != nil {
			http.Error(w, "no token", http.StatusUnauthorized)
		}
	})))
	handler = a.zk.Handler(mux)
	a.browser = a.newBrowser()
	return a
}

func (a *app) newBrowser() *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(a.t, err)
	return &http.Client{Transport: a.server.Client().Transport, Jar: jar}
}

func (a *app) advance(d time.Duration) { a.now.Add(int64(d / time.Second)) }

// get loads a page as a browser navigation and returns its status.
func (a *app) get(b *http.Client, path string) int {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.server.URL+path, nil)
	require.NoError(a.t, err)
	req.Header.Set("Accept", "text/html")
	resp, err := b.Do(req)
	require.NoError(a.t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// post sends a same-origin form and returns the status.
func (a *app) post(b *http.Client, path string, form url.Values) int {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.server.URL+path,
		strings.NewReader(form.Encode()))
	require.NoError(a.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.Do(req)
	require.NoError(a.t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// value reads a metric from the registry: 0 when it has no sample yet.
func (a *app) value(name string, labels ...string) float64 {
	a.t.Helper()
	families, err := a.reg.Gather()
	require.NoError(a.t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

var errDown = errors.New("store down (injected)")

// flakyStore fails Get while down is set.
type flakyStore struct {
	zenkey.Store
	down atomic.Bool
}

func (s *flakyStore) Get(ctx context.Context, key string) (*zenkey.Record, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.Get(ctx, key)
}

func TestCountsTheMiddlewaresEvents(t *testing.T) {
	a := newApp(t, nil)

	require.Equal(t, http.StatusOK, a.get(a.browser, "/profile"))
	assert.Equal(t, 1.0, a.value("zenkey_sign_ins_total"))

	a.idp.EditClaims(func(c map[string]any) { c["nonce"] = "another" })
	assert.Equal(t, http.StatusBadRequest, a.get(a.newBrowser(), "/profile"))
	a.idp.Heal()
	assert.Equal(t, 1.0, a.value("zenkey_rejections_total", "reason", "nonce_mismatch"))

	a.advance(30 * time.Minute)
	require.Equal(t, http.StatusOK, a.get(a.browser, "/token"))
	assert.Equal(t, 1.0, a.value("zenkey_refreshes_total"))

	ended := a.newBrowser()
	require.Equal(t, http.StatusOK, a.get(ended, "/profile"))
	a.advance(30 * time.Minute)
	a.idp.SetTokenError("invalid_grant")
	assert.Equal(t, http.StatusUnauthorized, a.get(ended, "/token"))
	a.idp.Heal()
	assert.Equal(t, 1.0, a.value("zenkey_sessions_ended_total", "reason", "refresh_refused"))

	a.store.down.Store(true)
	assert.Equal(t, http.StatusServiceUnavailable, a.get(a.browser, "/profile"))
	a.store.down.Store(false)
	assert.Equal(t, 1.0, a.value("zenkey_store_errors_total", "reason", "store_error"))
	assert.Equal(t, 1.0, a.value("zenkey_rejections_total", "reason", "store_error"))
	assert.Equal(t, 1.0, a.value("zenkey_store_call_errors_total", "operation", "get"))

	a.idp.Fail(zenkeytest.Revoke, http.StatusInternalServerError)
	assert.Equal(t, http.StatusOK, a.post(a.browser, "/auth/logout", nil))
	a.zk.WaitRevocations()
	assert.Equal(t, 1.0, a.value("zenkey_logouts_total", "reason", "local"))
	assert.Equal(t, 1.0, a.value("zenkey_sessions_destroyed_total", "reason", "local"))
	assert.Equal(t, 2.0, a.value("zenkey_provider_errors_total", "reason", "revocation_failed"),
		"the refresh and the access token")
}

func TestTimesEveryStoreCall(t *testing.T) {
	a := newApp(t, nil)
	require.Equal(t, http.StatusOK, a.get(a.browser, "/profile"))
	n, err := a.zk.LogoutSubject(t.Context(), subject)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	for _, op := range []string{"create", "get", "update", "delete", "delete_subject"} {
		assert.Positive(t, a.value("zenkey_store_call_duration_seconds", "operation", op), op)
		assert.Zero(t, a.value("zenkey_store_call_errors_total", "operation", op), op)
	}
	assert.Equal(t, 1.0, a.value("zenkey_sessions_destroyed_total", "reason", "subject"))

	// Not found and conflicts are answers, not failures.
	s := zenkeyprom.New(prometheus.NewRegistry()).Store(zenkey.NewMemoryStore())
	_, err = s.Get(t.Context(), strings.Repeat("0", 64))
	assert.ErrorIs(t, err, zenkey.ErrNotFound)
	assert.ErrorIs(t, s.Update(t.Context(), &zenkey.Record{Key: strings.Repeat("0", 64)}),
		zenkey.ErrConflict)
}

func TestMetricsCarryNoUserData(t *testing.T) {
	a := newApp(t, nil)
	require.Equal(t, http.StatusOK, a.get(a.browser, "/profile"))
	require.Equal(t, http.StatusOK, a.post(a.browser, "/auth/logout", nil))

	families, err := a.reg.Gather()
	require.NoError(t, err)
	require.NotEmpty(t, families)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				assert.Contains(t, []string{"reason", "operation"}, l.GetName())
				assert.NotContains(t, l.GetValue(), subject)
				assert.Regexp(t, `^[a-z_]+$`, l.GetValue(), "a fixed code, never data")
			}
		}
	}
	assert.NoError(t, testutil.GatherAndCompare(a.reg, strings.NewReader(`
# HELP zenkey_sign_ins_total Sessions begun by a login.
# TYPE zenkey_sign_ins_total counter
zenkey_sign_ins_total 1
`), "zenkey_sign_ins_total"))
}

func TestNewRefusesASecondRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	zenkeyprom.New(reg)
	assert.Panics(t, func() { zenkeyprom.New(reg) })
}

// TestBackchannelLogoutCountsEachSessionOnce: a back-channel logout by
// subject destroys one session here. The middleware reports it twice,
// once as a "subject" logout (from LogoutSubject) and once as a
// "backchannel" one, so sessions_destroyed_total counts two.
func TestBackchannelLogoutCountsEachSessionOnce(t *testing.T) {
	var issuer string
	a := newApp(t, func(o *zenkey.Options) {
		issuer = strings.TrimSuffix(o.DiscoveryURL,
			"/.well-known/openid_configuration") + "/carrier/310999"
		o.Issuer = issuer
	})
	require.Equal(t, http.StatusOK, a.get(a.browser, "/profile"))

	form := url.Values{"logout_token": {a.idp.LogoutToken(subject, "")}}
	resp, err := a.server.Client().PostForm(a.server.URL+"/auth/backchannel-logout", form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	destroyed := a.value("zenkey_sessions_destroyed_total", "reason", "backchannel") +
		a.value("zenkey_sessions_destroyed_total", "reason", "subject")
	assert.Equal(t, 1.0, destroyed, "one session was destroyed")
	assert.Equal(t, 1.0, a.value("zenkey_logouts_total", "reason", "backchannel"))
	assert.Zero(t, a.value("zenkey_logouts_total", "reason", "subject"), "one logout, not two")
}

// TestLogoutEverywhereCountsEachSessionOnce: "log out everywhere" from one
// of two browsers destroys two sessions.
func TestLogoutEverywhereCountsEachSessionOnce(t *testing.T) {
	a := newApp(t, func(o *zenkey.Options) { o.AllowLogoutEverywhere = true })
	laptop := a.newBrowser()
	require.Equal(t, http.StatusOK, a.get(a.browser, "/profile"))
	require.Equal(t, http.StatusOK, a.get(laptop, "/profile"))

	require.Equal(t, http.StatusOK, a.post(a.browser, "/auth/logout",
		url.Values{"everywhere": {"1"}}))
	require.Equal(t, http.StatusUnauthorized, func() int {
		req, _ := http.NewRequest(http.MethodGet, a.server.URL+"/profile", nil)
		resp, err := laptop.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}(), "the laptop is signed out")

	var destroyed float64
	for _, reason := range []string{"local", "subject", "everywhere"} {
		destroyed += a.value("zenkey_sessions_destroyed_total", "reason", reason)
	}
	assert.Equal(t, 2.0, destroyed, "two sessions were destroyed")
}
