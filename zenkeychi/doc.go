// Package zenkeychi puts a [zenkey.Middleware] in front of a chi v5 router.
//
// [Mount] gives the router the middleware's login, callback and logout routes
// and loads the browser's session for every route; call it on the root router
// before adding any route. [RequireLogin] guards a route or a group. Handlers
// read the session with [zenkey.SessionFromContext].
//
// # Example
//
//	zk, err := zenkey.New(opts)
//	if err != nil {
//		log.Fatal(err)
//	}
//	r := chi.NewRouter()
//	zenkeychi.Mount(r, zk) // before any route
//	r.With(zenkeychi.RequireLogin(zk)).Get("/profile", profile)
//	log.Fatal(http.ListenAndServe(":8080", r))
//
// where profile reads the user with SessionFromContext:
//
//	func profile(w http.ResponseWriter, r *http.Request) {
//		s := zenkey.SessionFromContext(r.Context())
//		fmt.Fprintf(w, "signed in as %s", s.Subject())
//	}
package zenkeychi
