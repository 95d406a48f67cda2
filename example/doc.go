// Command example is a small web app that signs its users in with ZenKey,
// the mobile carriers' OpenID Connect service, through the zenkey
// middleware: copy it to start your own.
//
//	go run ./example
//
// Without any environment it runs in demo mode: a simulated ZenKey with real
// pages (a carrier picker, then an approval page that asks for a PIN) starts
// on a loopback port, sessions go to an SQLite file and a master secret is
// generated once and kept in a file only its owner can read. Open
// http://localhost:8080 and sign in. The simulated ZenKey listens on
// 127.0.0.1 only: use a browser on the same machine.
//
// # Environment
//
//	ADDR                        listen address (default localhost:8080)
//	ZENKEY_CLIENT_ID            client id; when set, demo mode is off
//	ZENKEY_CLIENT_SECRET        client secret, or:
//	ZENKEY_CLIENT_SECRET_FILE   a file holding it, readable by its owner only
//	ZENKEY_REDIRECT_URL         callback URL registered with ZenKey (default
//	                            http://localhost:8080/auth/callback, or the
//	                            same at ADDR's host and port)
//	ZENKEY_DISCOVERY_UI_URL     carrier discovery UI (default the real one)
//	ZENKEY_DISCOVERY_URL        discovery issuer endpoint (default the real one)
//	ZENKEY_ISSUER               standard OpenID discovery at this issuer instead
//	                            of carrier discovery
//	ZENKEY_STORE                memory, sqlite:PATH, redis://... or
//	                            postgres://... (default
//	                            sqlite:zenkey-example/zenkey-example.db)
//	ZENKEY_SECRET_KEY           base64 of at least 32 random bytes: the master
//	                            secret (default: generated once into
//	                            zenkey-example.key beside the SQLite file, or
//	                            in the directory zenkey-example)
//
// # Where the demo keeps its files
//
// The default ZENKEY_STORE is sqlite:zenkey-example/zenkey-example.db, a
// file in a directory of its own, not sqlite:zenkey-example.db in the
// working directory. The SQLite store refuses to open a file in a
// directory that other users can reach (any permission for group or
// others), and a working directory, such as a checkout of this module,
// usually is one (mode 0755). So the app creates zenkey-example with mode
// 0700 and keeps there the session database and, unless ZENKEY_SECRET_KEY
// is set, the generated master secret (zenkey-example.key, mode 0600). A
// sqlite:PATH of your own needs the same: a directory that is missing (the
// app creates it with mode 0700) or that only its owner can reach.
//
// # Routes
//
//	GET  /                         public home page
//	GET  /profile                  the signed-in user: HTML, or JSON when asked
//	                               with "Accept: application/json" (then a
//	                               signed-out request gets a JSON 401)
//	GET  /profile/userinfo         the provider's userinfo, as JSON
//	GET  /transfer                 a transfer form (?amount=&to= fill it in)
//	POST /transfer                 a transfer: checked (400 when not valid),
//	                               then approved on the user's phone, which
//	                               brings them back to the form, filled in
//	     /api/...                  the demo API, called with the session's
//	                               access token by the server (never the browser)
//	GET  /auth/login               sign in (optional ?return_to=/local/path)
//	GET  /auth/callback            where the provider sends the browser back
//	POST /auth/logout              sign out (refused from other origins)
//	POST /auth/backchannel-logout  back-channel logout (with ZENKEY_ISSUER)
package main
