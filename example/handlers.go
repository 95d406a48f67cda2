package main

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/zenkey-go/zenkey"
)

// loginPath is where the middleware starts a sign-in (Options.LoginPath's
// default); the pages link to it.
const loginPath = "/auth/login"

// An app serves the example's pages and its API proxy.
type app struct {
	zk   *zenkey.Middleware
	api  *url.URL // the demo API, reached through /api/
	demo bool     // the provider is the simulated ZenKey
	log  *slog.Logger
}

// routes returns the app's handler. The middleware serves its own paths
// (/auth/login, /auth/callback, /auth/logout, /auth/backchannel-logout) and
// loads the browser's session for every other request.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.Handle("GET /profile", a.requireLogin(http.HandlerFunc(a.profile)))
	mux.Handle("GET /profile/userinfo", a.requireLogin(http.HandlerFunc(a.userinfo)))
	mux.Handle("/api/", a.zk.APIProxy("/api/", a.api))
	mux.Handle("GET /static/", staticFiles())
	a.transferRoutes(mux)
	return a.zk.Handler(mux)
}

// requireLogin is the middleware's RequireLogin, whose refusals are plain
// text (or a redirect to login, for a browser), except that a request that
// asks for JSON is refused in JSON, as the app's JSON answers are: 401 when
// the browser is signed out, 503 when the store did not answer.
func (a *app) requireLogin(next http.Handler) http.Handler {
	guarded := a.zk.RequireLogin(next)
	return a.zk.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !wantsJSON(r) || zenkey.SessionFromContext(r.Context()) != nil {
			guarded.ServeHTTP(w, r)
			return
		}
		// No session: RequireLogin refuses, and tells by its status
		// whether the store failed. It runs next only for a session, so
		// next never writes to the verdict.
		var verdict statusWriter
		guarded.ServeHTTP(&verdict, r)
		if status := verdict.status; status == http.StatusServiceUnavailable {
			writeJSON(w, status, jsonError{"the session store did not answer: try again"})
			return
		}
		writeJSON(w, http.StatusUnauthorized, jsonError{"sign-in required"})
	}))
}

// A statusWriter keeps the status of a response and discards the rest.
type statusWriter struct {
	header http.Header
	status int
}

func (s *statusWriter) Header() http.Header {
	if s.header == nil {
		s.header = http.Header{}
	}
	return s.header
}

func (s *statusWriter) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
}

func (s *statusWriter) Write(p []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return len(p), nil
}

// home is the public home page: a sign-in button, or the way to the profile
// for a signed-in user.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, "home", nil)
}

// profilePage is the data of the profile page.
type profilePage struct {
	Profile         profile
	UserInfo        *userInfo
	UserInfoProblem string // why UserInfo is missing, for the user
}

// Heading is the page's title: the user's name when the provider gave it.
func (p profilePage) Heading() string {
	if p.UserInfo != nil && p.UserInfo.Name != "" {
		return p.UserInfo.Name
	}
	return "Your profile"
}

// profile shows the signed-in user: a page with the provider's userinfo, or
// the profile alone as JSON when the request asks for JSON.
func (a *app) profile(w http.ResponseWriter, r *http.Request) {
	s := zenkey.SessionFromContext(r.Context())
	p, err := readProfile(s)
	if err != nil {
		a.log.Error("example: session claims do not decode", "error", err)
		if wantsJSON(r) {
			writeJSON(w, http.StatusInternalServerError, jsonError{"the session cannot be read"})
			return
		}
		http.Error(w, "example: the session cannot be read", http.StatusInternalServerError)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, p)
		return
	}

	page := profilePage{Profile: p}
	info, err := s.UserInfo(r.Context())
	switch {
	case sessionEnded(err):
		http.Redirect(w, r, loginPath+"?return_to="+url.QueryEscape(r.URL.Path),
			http.StatusSeeOther)
		return
	case err != nil:
		a.log.Warn("example: userinfo failed", "error", err)
		page.UserInfoProblem = "The provider's userinfo endpoint did not answer. " +
			"Reload to try again."
	default:
		ui := newUserInfo(info)
		page.UserInfo = &ui
	}
	a.render(w, r, "profile", page)
}

// userinfo answers with the provider's userinfo about the signed-in user,
// asked server-side with the session's access token (refreshed first when
// needed).
func (a *app) userinfo(w http.ResponseWriter, r *http.Request) {
	info, err := zenkey.SessionFromContext(r.Context()).UserInfo(r.Context())
	switch {
	case sessionEnded(err):
		writeJSON(w, http.StatusUnauthorized, jsonError{"sign-in required"})
	case err != nil:
		a.log.Warn("example: userinfo failed", "error", err)
		writeJSON(w, http.StatusBadGateway,
			jsonError{"the provider's userinfo endpoint did not answer"})
	default:
		writeJSON(w, http.StatusOK, newUserInfo(info))
	}
}

// jsonError is the JSON body of a failed request.
type jsonError struct {
	Error string `json:"error"`
}

// sessionEnded reports whether err means the user must sign in again.
func sessionEnded(err error) bool {
	return errors.Is(err, zenkey.ErrSessionEnded) || errors.Is(err, zenkey.ErrNoRefreshToken)
}
