package zenkeyecho

import (
	"github.com/labstack/echo/v4"

	"github.com/zenkey-go/zenkey"
)

// Both middlewares are adapted with [echo.WrapMiddleware], which gives the
// Echo context the request the zenkey middleware passes on, so that
// c.Request().Context() carries the session. When the zenkey middleware
// answers itself (an auth path, a redirect to login, a 401 or a 503), the
// next handler never runs and the error returned is nil: Echo's error
// handler leaves that answer alone. Errors of the next handler go to Echo's
// error handler as usual.

// Middleware returns m as Echo middleware, for Echo's Use: it serves m's
// login, callback and logout paths (see [zenkey.Middleware.Paths]) and, for
// every other request, loads the browser's session into the request's
// context before the route's handler runs. It refuses no one: guard
// protected routes with [RequireLogin].
func Middleware(m *zenkey.Middleware) echo.MiddlewareFunc {
	return echo.WrapMiddleware(m.Handler)
}

// RequireLogin returns Echo middleware for a route or a group that lets
// only signed-in users through, as [zenkey.Middleware.RequireLogin] does: a
// browser navigation without a session is redirected to login, other
// requests get 401, and a store failure gets 503.
func RequireLogin(m *zenkey.Middleware) echo.MiddlewareFunc {
	return echo.WrapMiddleware(m.RequireLogin)
}

// Session returns the session loaded for c's request, or nil when the
// browser is not signed in.
func Session(c echo.Context) *zenkey.Session {
	return zenkey.SessionFromContext(c.Request().Context())
}
