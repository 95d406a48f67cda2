package zenkeychi_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeychi"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

const testSubject = "310999-0123456789abcdef"

// app is a chi router behind the middleware, with a simulated ZenKey and a
// browser that keeps cookies and follows redirects.
type app struct {
	idp     *zenkeytest.Server
	url     string
	browser *http.Client
}

// newApp serves "/" to everyone and, to signed-in users only, "/profile"
// and everything under "/account/".
func newApp(t *testing.T) *app {
	t.Helper()
	idp := zenkeytest.NewServer(zenkeytest.Config{
		ClientID: "chi-app", ClientSecret: "chi-secret", Subject: testSubject,
	})
	t.Cleanup(idp.Close)

	srv := httptest.NewUnstartedServer(nil)
	zk, err := zenkey.New(zenkey.Options{
		ClientID:       "chi-app",
		ClientSecret:   "chi-secret",
		RedirectURL:    "http://" + srv.Listener.Addr().String() + "/auth/callback",
		SecretKey:      []byte("0123456789abcdef0123456789abcdef-chi"),
		DiscoveryUIURL: idp.DiscoveryUIURL,
		DiscoveryURL:   idp.DiscoveryURL,
	})
	require.NoError(t, err)
	t.Cleanup(zk.WaitRevocations)

	r := chi.NewRouter()
	zenkeychi.Mount(r, zk)
	r.Get("/", greet)
	r.With(zenkeychi.RequireLogin(zk)).Get("/profile", greet)
	r.Route("/account", func(r chi.Router) {
		r.Use(zenkeychi.RequireLogin(zk))
		r.Get("/settings", greet)
	})
	srv.Config.Handler = r
	srv.Start()
	t.Cleanup(srv.Close)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &app{idp: idp, url: srv.URL, browser: &http.Client{Jar: jar}}
}

// greet names the signed-in user.
func greet(w http.ResponseWriter, r *http.Request) {
	s := zenkey.SessionFromContext(r.Context())
	if s == nil {
		io.WriteString(w, "signed out")
		return
	}
	io.WriteString(w, "hello "+s.Subject())
}

// do sends a request from the browser and returns the status and body of
// the last response.
func (a *app) do(t *testing.T, method, path string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, a.url+path, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := a.browser.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

var (
	acceptHTML = map[string]string{"Accept": "text/html"}
	acceptJSON = map[string]string{"Accept": "application/json"}
)

func TestSignedOut(t *testing.T) {
	a := newApp(t)
	a.browser.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}

	for _, path := range []string{"/profile", "/account/settings"} {
		t.Run("browser is sent to login from "+path, func(t *testing.T) {
			req, err := http.NewRequest("GET", a.url+path+"?tab=2", nil)
			require.NoError(t, err)
			req.Header.Set("Accept", "text/html")
			resp, err := a.browser.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			want := "/auth/login?return_to=" + strings.ReplaceAll(path, "/", "%2F") + "%3Ftab%3D2"
			require.Equal(t, want, resp.Header.Get("Location"))
		})
		t.Run("API call to "+path+" gets 401", func(t *testing.T) {
			status, body := a.do(t, "GET", path, acceptJSON)
			require.Equal(t, http.StatusUnauthorized, status)
			require.Contains(t, body, "sign-in required")
		})
	}
	t.Run("public route runs without a session", func(t *testing.T) {
		status, body := a.do(t, "GET", "/", acceptHTML)
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "signed out", body)
	})
	t.Run("login path is served", func(t *testing.T) {
		resp, err := a.browser.Get(a.url + "/auth/login")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode)
		require.True(t, strings.HasPrefix(resp.Header.Get("Location"), a.idp.DiscoveryUIURL))
	})
	t.Run("middleware, not chi, answers a GET to logout", func(t *testing.T) {
		status, body := a.do(t, "GET", "/auth/logout", acceptHTML)
		require.Equal(t, http.StatusMethodNotAllowed, status)
		require.Contains(t, body, "logout takes POST")
	})
}

func TestLoginAndLogout(t *testing.T) {
	a := newApp(t)

	// The browser opens the profile, goes through ZenKey and comes back.
	status, body := a.do(t, "GET", "/profile", acceptHTML)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "hello "+testSubject, body)

	// Every route sees the session, guarded or not, API calls too.
	for _, path := range []string{"/", "/account/settings"} {
		status, body = a.do(t, "GET", path, acceptJSON)
		require.Equal(t, http.StatusOK, status, path)
		require.Equal(t, "hello "+testSubject, body, path)
	}

	// Logout ends on the home page, signed out.
	status, body = a.do(t, "POST", "/auth/logout", map[string]string{
		"Sec-Fetch-Site": "same-origin",
	})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "signed out", body)
	status, _ = a.do(t, "GET", "/profile", acceptJSON)
	require.Equal(t, http.StatusUnauthorized, status)
}

func TestCrossSiteLogoutRefused(t *testing.T) {
	a := newApp(t)
	status, _ := a.do(t, "GET", "/profile", acceptHTML)
	require.Equal(t, http.StatusOK, status)

	// Logout is mounted through chi, and still refused from another site.
	for _, header := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "http://evil.example"},
	} {
		status, _ = a.do(t, "POST", "/auth/logout", header)
		require.Equal(t, http.StatusForbidden, status, header)
		status, body := a.do(t, "GET", "/profile", acceptJSON)
		require.Equal(t, http.StatusOK, status, "still signed in after %v", header)
		require.Equal(t, "hello "+testSubject, body)
	}
}
