package zenkeyecho_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeyecho"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

const testSubject = "310999-0123456789abcdef"

// app is an Echo app behind the middleware, with a simulated ZenKey and a
// browser that keeps cookies and follows redirects.
type app struct {
	idp     *zenkeytest.Server
	url     string
	browser *http.Client
	// errors counts the calls to Echo's error handler.
	errors atomic.Int32
}

// newApp serves "/" to everyone, "/profile" to signed-in users only, and
// "/teapot" whose handler fails with 418.
func newApp(t *testing.T) *app {
	t.Helper()
	idp := zenkeytest.NewServer(zenkeytest.Config{
		ClientID: "echo-app", ClientSecret: "echo-secret", Subject: testSubject,
	})
	t.Cleanup(idp.Close)

	srv := httptest.NewUnstartedServer(nil)
	zk, err := zenkey.New(zenkey.Options{
		ClientID:       "echo-app",
		ClientSecret:   "echo-secret",
		RedirectURL:    "http://" + srv.Listener.Addr().String() + "/auth/callback",
		SecretKey:      []byte("0123456789abcdef0123456789abcdef-echo"),
		DiscoveryUIURL: idp.DiscoveryUIURL,
		DiscoveryURL:   idp.DiscoveryURL,
	})
	require.NoError(t, err)
	t.Cleanup(zk.WaitRevocations)

	a := &app{idp: idp}
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		a.errors.Add(1)
		e.DefaultHTTPErrorHandler(err, c)
	}
	e.Use(zenkeyecho.Middleware(zk))
	e.GET("/", greet)
	e.GET("/profile", greet, zenkeyecho.RequireLogin(zk))
	e.GET("/teapot", func(echo.Context) error {
		return echo.NewHTTPError(http.StatusTeapot)
	})
	srv.Config.Handler = e
	srv.Start()
	t.Cleanup(srv.Close)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	a.url = srv.URL
	a.browser = &http.Client{Jar: jar}
	return a
}

// greet names the signed-in user, reading the session both ways a handler
// can.
func greet(c echo.Context) error {
	s := zenkeyecho.Session(c)
	if s == nil {
		return c.String(http.StatusOK, "signed out")
	}
	if zenkey.SessionFromContext(c.Request().Context()) != s {
		return c.String(http.StatusInternalServerError, "two sessions")
	}
	return c.String(http.StatusOK, "hello "+s.Subject())
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

	t.Run("browser is sent to login", func(t *testing.T) {
		req, err := http.NewRequest("GET", a.url+"/profile?tab=2", nil)
		require.NoError(t, err)
		req.Header.Set("Accept", "text/html")
		resp, err := a.browser.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "/auth/login?return_to=%2Fprofile%3Ftab%3D2", resp.Header.Get("Location"))
	})
	t.Run("API call gets 401", func(t *testing.T) {
		status, body := a.do(t, "GET", "/profile", acceptJSON)
		require.Equal(t, http.StatusUnauthorized, status)
		require.Contains(t, body, "sign-in required")
	})
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
	require.Zero(t, a.errors.Load(), "Echo's error handler saw the middleware's answers")
}

func TestEchoErrorsStillHandled(t *testing.T) {
	a := newApp(t)
	status, _ := a.do(t, "GET", "/teapot", acceptJSON)
	require.Equal(t, http.StatusTeapot, status)
	status, _ = a.do(t, "GET", "/nowhere", acceptJSON)
	require.Equal(t, http.StatusNotFound, status)
	require.EqualValues(t, 2, a.errors.Load())
}

func TestLoginAndLogout(t *testing.T) {
	a := newApp(t)

	// The browser opens the profile, goes through ZenKey and comes back.
	status, body := a.do(t, "GET", "/profile", acceptHTML)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "hello "+testSubject, body)

	// Every route sees the session, guarded or not, API calls too.
	status, body = a.do(t, "GET", "/", acceptJSON)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "hello "+testSubject, body)

	// Logout ends on the home page, signed out.
	status, body = a.do(t, "POST", "/auth/logout", map[string]string{
		"Sec-Fetch-Site": "same-origin",
	})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "signed out", body)
	status, _ = a.do(t, "GET", "/profile", acceptJSON)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Zero(t, a.errors.Load())
}

func TestCrossSiteLogoutRefused(t *testing.T) {
	a := newApp(t)
	status, _ := a.do(t, "GET", "/profile", acceptHTML)
	require.Equal(t, http.StatusOK, status)

	status, _ = a.do(t, "POST", "/auth/logout", map[string]string{
		"Sec-Fetch-Site": "cross-site",
	})
	require.Equal(t, http.StatusForbidden, status)
	status, body := a.do(t, "GET", "/profile", acceptJSON)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "hello "+testSubject, body)
}
