// Package zenkey puts "Sign in with ZenKey" in front of any net/http
// application and manages what comes after: the login callback, strict
// id_token validation, server-side sessions holding encrypted tokens, and a
// logout that really destroys the session.
//
// ZenKey is an OpenID Connect service run by mobile carriers: the user's
// carrier is found first (carrier discovery), then an authorization-code
// flow with PKCE runs against that carrier's provider. Setting
// [Options.Issuer] uses any standard OpenID provider instead.
//
// The browser holds one small signed cookie with a random session id.
// Tokens stay on the server, sealed with AES-256-GCM before they reach the
// [Store], and never appear in a cookie, a page, a URL or a log line.
//
// # Example
//
//	zk, err := zenkey.New(zenkey.Options{
//		ClientID:     os.Getenv("ZENKEY_CLIENT_ID"),
//		ClientSecret: os.Getenv("ZENKEY_CLIENT_SECRET"),
//		RedirectURL:  "https://app.example/auth/callback",
//		SecretKey:    secret, // at least 32 random bytes
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.Handle("/profile", zk.RequireLogin(http.HandlerFunc(profile)))
//	log.Fatal(http.ListenAndServe(":8080", zk.Handler(mux)))
//
// where profile reads the user with [SessionFromContext]:
//
//	func profile(w http.ResponseWriter, r *http.Request) {
//		s := zenkey.SessionFromContext(r.Context())
//		fmt.Fprintf(w, "signed in as %s", s.Subject())
//	}
package zenkey
