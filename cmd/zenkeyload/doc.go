// Command zenkeyload puts load on the zenkey middleware, on loopback only,
// and checks two of DESIGN §7's targets: the throughput a protected route
// keeps behind the middleware, and that login and logout cycles leave no
// session behind in the store.
//
//	go run ./cmd/zenkeyload -mode requests -store redis://127.0.0.1:6379
//	go run ./cmd/zenkeyload -mode cycles -store sqlite:/tmp/zenkeyload/s.db
//
// By default it starts everything in its own process: a zenkeytest provider
// (ZenKey's carrier discovery and a carrier's OpenID provider, approving every
// login at once), an app built like the example app (the middleware in front
// of a protected GET /profile, over the chosen store), and for the requests
// mode the same profile handler served bare, without the middleware. With
// -app, it drives the example app running in a process of its own instead
// (see below). Browsers are HTTP clients with cookie jars that walk the real
// redirect chain.
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
// # The running example app
//
// With -app, it starts nothing: it drives the example app, in demo mode, at
// the origin the app prints (its cookies are bound to it: with
// ADDR=127.0.0.1:8080, say -app http://127.0.0.1:8080). -host and -subject,
// which shape the app started in this process, do not go with it.
//
//	go run ./example &
//	go run ./cmd/zenkeyload -app http://localhost:8080 -mode cycles -n 200 \
//		-store sqlite:zenkey-example/zenkey-example.db
//	go run ./cmd/zenkeyload -app http://localhost:8080 -mode requests -n 20000 \
//		-store sqlite:zenkey-example/zenkey-example.db
//
// Browsers sign in through the app's real pages, as a person would: the
// simulated ZenKey's carrier picker (the first carrier), then its approval
// page (a PIN, Approve). requests signs -browsers browsers in, sends -n
// signed-in GET /profile with "Accept: application/json" over -c keep-alive
// connections, reports the throughput, p50 and p99 latencies and errors, and
// signs the browsers out. The app runs in another process: there is no bare
// handler to compare it with, so no ratio, and its store calls are not
// counted. cycles runs -n cycles as described above; a logout is the app's
// form post to /auth/logout, from the app's own origin.
//
// -store then names the app's own store, its ZENKEY_STORE, which the tool
// only reads: sqlite:PATH (relative to the directory the tool runs in; the
// example's default is zenkey-example/zenkey-example.db in its own working
// directory, read beside the running app through read-only connections, as
// the store runs in WAL mode), redis://... (the example's prefix, zenkey)
// or postgres://... (its table, zenkey_sessions). The store may hold other
// records, which the app's sweeper may delete during the run, so the tool
// lists the store's keys before the run and after it, and counts the
// records whose keys are new: sessions (with a subject) and pending logins.
// Any of them, after the logouts of either mode, makes it exit with status
// 1; so would anyone else's sign-in to the app during the run. Without
// -store, or with memory, the store lives in the app's process: the report
// says it cannot be counted.
//
// # Limits
//
// Every address it listens on or connects to must be loopback: localhost,
// 127.0.0.0/8 or ::1 (or a Unix socket for Redis and PostgreSQL), -app's too. -n is at
// most 1,000,000 requests (per handler) or 100,000 cycles, -c at most 256,
// -duration at most 10 minutes; the run stops at -n or -duration, whichever
// comes first.
package main
