// Command zenkeyload puts load on the zenkey middleware, on loopback only,
// and checks two of DESIGN §7's targets: the throughput a protected route
// keeps behind the middleware, and that login and logout cycles leave no
// session behind in the store.
//
//	go run ./cmd/zenkeyload -mode requests -store redis://127.0.0.1:6379
//	go run ./cmd/zenkeyload -mode cycles -store sqlite:/tmp/zenkeyload/s.db
//
// It starts everything in its own process: a zenkeytest provider (ZenKey's
// carrier discovery and a carrier's OpenID provider, approving every login at
// once), an app built like the example app (the middleware in front of a
// protected GET /profile, over the chosen store), and for the requests mode
// the same profile handler served bare, without the middleware. Browsers are
// HTTP clients with cookie jars that walk the real redirect chain.
//
// # Modes
//
// requests signs in -browsers browsers, then sends -n signed-in requests
// for /profile to the app and -n to the bare handler over -c keep-alive
// connections, in alternating rounds so that the machine's drift affects both
// alike. It reports both throughputs and their ratio (the target: with Redis,
// at least half the bare handler's), p50 and p99 latencies, errors, and the
// store reads and writes per request.
//
// cycles runs -n cycles, -c at a time, each with a new browser: a full
// login through the provider, a signed-in request, a logout, and a check
// that the browser is signed out. Then it counts what is left in the store:
// the sessions and pending logins the cycles created that are still there,
// and every record of any kind. Anything left, or any error, makes it exit
// with status 1.
//
// # Stores
//
//	memory            zenkey.MemoryStore (the default)
//	sqlite:PATH       sqlitestore at PATH; cycles needs an empty or new file
//	redis://HOST:PORT redisstore, under a prefix of its own, deleted afterwards
//	postgres://...    pgstore, in a table of its own, dropped afterwards
//
// # Limits
//
// Every address it listens on or connects to must be loopback: localhost,
// 127.0.0.0/8 or ::1 (or a Unix socket for Redis and PostgreSQL). -n is at
// most 1,000,000 requests (per handler) or 100,000 cycles, -c at most 256,
// -duration at most 10 minutes; the run stops at -n or -duration, whichever
// comes first.
package main
