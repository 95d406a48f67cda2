package zenkeychi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/zenkey-go/zenkey"
)

// Mount sets up m on r: it adds [zenkey.Middleware.LoadSession] to r's
// middleware stack, so that every route of r finds the browser's session
// with [zenkey.SessionFromContext], and routes m's own paths (login,
// callback, logout and, with Options.Issuer, back-channel logout; see
// [zenkey.Middleware.Paths]) to [zenkey.Middleware.AuthRoutes], for every
// method.
//
// Call Mount on the root router, before adding any route to it: chi panics
// when a middleware is added to a router that already has routes. Under a
// prefix (r.Route, r.Mount), m's paths would not match, as they are
// absolute.
//
// Mount refuses no one: guard protected routes with [RequireLogin].
func Mount(r chi.Router, m *zenkey.Middleware) {
	r.Use(m.LoadSession)
	auth := m.AuthRoutes()
	for _, path := range m.Paths() {
		r.Handle(path, auth)
	}
}

// RequireLogin returns chi middleware, for r.With or a group, that lets only
// signed-in users through. It is [zenkey.Middleware.RequireLogin]: a browser
// navigation without a session is redirected to login, other requests get
// 401, and a store failure gets 503.
func RequireLogin(m *zenkey.Middleware) func(http.Handler) http.Handler {
	return m.RequireLogin
}
