// Package zenkeyecho puts a [zenkey.Middleware] in front of an Echo v4 app.
//
// [Middleware] installs the whole middleware with Echo's Use: it serves the
// login, callback and logout paths and loads the browser's session into every
// other request. [RequireLogin] guards a route or a group, and [Session]
// returns the session a handler runs under.
//
// # Example
//
//	zk, err := zenkey.New(opts)
//	if err != nil {
//		log.Fatal(err)
//	}
//	e := echo.New()
//	e.Use(zenkeyecho.Middleware(zk))
//	e.GET("/profile", profile, zenkeyecho.RequireLogin(zk))
//	log.Fatal(e.Start(":8080"))
//
// where profile reads the user with Session:
//
//	func profile(c echo.Context) error {
//		return c.String(http.StatusOK, "signed in as "+zenkeyecho.Session(c).Subject())
//	}
package zenkeyecho
