package zenkey_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/sqlitestore"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// secondInstance starts another app instance with the harness's options
// but its own store value (over the same data) and its own server: two
// processes behind a load balancer.
func (h *harness) secondInstance(store zenkey.Store) *harness {
	h.t.Helper()
	opts := h.opts
	opts.Store = store
	zk, err := zenkey.New(opts)
	require.NoError(h.t, err)
	b := *h
	b.zk = zk
	b.app = httptest.NewUnstartedServer(zk.Handler(b.routes()))
	startHTTP2(b.app)
	h.t.Cleanup(b.app.Close)
	return &b
}

// TestTwoInstancesShareSessions signs in through one app instance, is
// served by the other, logs out there, and replays a copy of the cookie
// kept from before the logout to the first: refused at once, on every store.
func TestTwoInstancesShareSessions(t *testing.T) {
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) {
			open := kind.open(t)
			a := newHarness(t, func(o *zenkey.Options) { o.Store = open() })
			b := a.secondInstance(open())
			a.login()

			// Cookies are per host, not per port: the browser sends its
			// cookie to both instances, as to two servers behind one name.
			require.True(t, b.signedIn(a.browser), "signed in through A, served by B")
			stolen := a.cookies(a.browser)
			require.Equal(t, http.StatusOK, a.replay(stolen),
				"the kept copy works before the logout")

			p := b.do(a.browser, http.MethodPost, "/auth/logout", true)
			require.Equal(t, "home, signed out", p.body)

			// The browser's jar dropped the cleared cookie: only the kept
			// copy, sent by hand, shows that A refuses the session.
			assert.Equal(t, http.StatusUnauthorized, a.replay(stolen),
				"logged out on B, refused on A at once")
		})
	}
}

func TestOneRefreshAcrossInstances(t *testing.T) {
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) {
			open := kind.open(t)
			a := newHarness(t, func(o *zenkey.Options) {
				o.Store = open()
				o.IdleTimeout = 4 * time.Hour
				o.StoreTimeout = time.Minute // a thousand requests queue for the pool
			})
			b := a.secondInstance(open())
			a.tokenRoute()
			b.tokenRoute()
			a.login()
			a.clock.Advance(29*time.Minute + 30*time.Second)

			var wg sync.WaitGroup
			var failures atomic.Int32
			for i := range 1000 {
				inst := a
				if i%2 == 1 {
					inst = b
				}
				wg.Go(func() {
					if inst.doQuiet(a.browser, "/token") != "ok" {
						failures.Add(1)
					}
				})
			}
			wg.Wait()

			assert.Zero(t, failures.Load())
			assert.Equal(t, 1, a.idp.Calls(zenkeytest.Refresh), "one refresh for both instances")
		})
	}
}

// TestTokensAreEncryptedAtRest logs in with the SQLite store and searches
// the database file and its WAL for the tokens' bytes.
func TestTokensAreEncryptedAtRest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	path := filepath.Join(dir, "sessions.db")
	store, err := sqlitestore.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	h := newHarness(t, func(o *zenkey.Options) { o.Store = store })
	h.login()
	require.True(t, h.signedIn(h.browser))

	var files [][]byte
	for _, name := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		files = append(files, b)
	}
	require.NotEmpty(t, files[1], "the session is in the WAL (not yet checkpointed)")
	for name, tok := range h.issuedTokens() {
		for i, b := range files {
			assert.NotContains(t, string(b), tok, "%s in file %d", name, i)
			for _, part := range splitJWT(tok) {
				assert.NotContains(t, string(b), part, "%s fragment in file %d", name, i)
			}
		}
	}
	assert.NotContains(t, string(files[0])+string(files[1]), testSubject,
		"the subject is indexed by a keyed hash")
}

func splitJWT(tok string) []string {
	var parts []string
	start := 0
	for i := 0; i <= len(tok); i++ {
		if i == len(tok) || tok[i] == '.' {
			if i-start > 16 {
				parts = append(parts, tok[start:i])
			}
			start = i + 1
		}
	}
	return parts
}
