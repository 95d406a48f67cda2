package zenkey_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// meddlingStore hands the record a refresh has just leased to meddle, once
// armed: what another request, a logout or another app instance may do to
// the session while the provider answers the refresh.
type meddlingStore struct {
	zenkey.Store
	armed  atomic.Bool
	meddle func(ctx context.Context, s zenkey.Store, leased zenkey.Record)
	key    string // of the record meddled with
}

func (s *meddlingStore) Update(ctx context.Context, r *zenkey.Record) error {
	err := s.Store.Update(ctx, r)
	if err == nil && !r.LeaseUntil.IsZero() && s.armed.CompareAndSwap(true, false) {
		s.key = r.Key
		s.meddle(ctx, s.Store, *r)
	}
	return err
}

// refreshMeddledWith signs a browser in over a meddlingStore armed with
// meddle, its access token due to be refreshed: the next /token request
// refreshes, and meddle runs once the refresh holds the lease.
func refreshMeddledWith(t *testing.T,
	meddle func(context.Context, zenkey.Store, zenkey.Record)) (*harness, *meddlingStore) {
	store := &meddlingStore{Store: zenkey.NewMemoryStore(), meddle: meddle}
	h := newHarness(t, func(o *zenkey.Options) {
		o.Store = store
		longSessions(o)
	})
	h.tokenRoute()
	h.login()
	h.clock.Advance(29*time.Minute + 30*time.Second)
	store.armed.Store(true)
	return h, store
}

// TestRefreshOutlivesOtherWrites changes the session's record while its
// refresh holds the lease. The provider has rotated the refresh token by
// the time the refresh writes its result: a write that conflicts must be
// made again on the record as it now is, unless the session is gone (a
// logout stays final) or another caller holds the lease (whose result must
// not be overwritten).
func TestRefreshOutlivesOtherWrites(t *testing.T) {
	seen := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var meddled zenkey.Record
	tests := []struct {
		name   string
		meddle func(ctx context.Context, s zenkey.Store, r zenkey.Record) error
		status int
		check  func(t *testing.T, h *harness, got *zenkey.Record, err error)
	}{
		{"another request's write", func(ctx context.Context, s zenkey.Store,
			r zenkey.Record) error {
			r.LastSeen = seen
			return s.Update(ctx, &r)
		}, http.StatusOK, func(t *testing.T, h *harness, got *zenkey.Record, err error) {
			require.NoError(t, err)
			assert.True(t, got.LastSeen.Equal(seen), "the other request's write is kept")
			assert.True(t, got.LeaseUntil.IsZero(), "the lease is released")
			h.clock.Advance(30 * time.Minute)
			assert.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body,
				"the rotated refresh token was kept")
		}},
		{"a logout", func(ctx context.Context, s zenkey.Store, r zenkey.Record) error {
			return s.Delete(ctx, r.Key)
		}, http.StatusUnauthorized, func(t *testing.T, h *harness, _ *zenkey.Record, err error) {
			assert.ErrorIs(t, err, zenkey.ErrNotFound, "the logged-out session came back")
		}},
		{"another caller's lease", func(ctx context.Context, s zenkey.Store,
			r zenkey.Record) error {
			r.LeaseUntil = r.LeaseUntil.Add(time.Second)
			err := s.Update(ctx, &r)
			meddled = r
			return err
		}, http.StatusBadGateway, func(t *testing.T, h *harness, got *zenkey.Record, err error) {
			require.NoError(t, err)
			assert.Equal(t, meddled.Version, got.Version, "the other caller's record is left alone")
			assert.True(t, got.LeaseUntil.Equal(meddled.LeaseUntil))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, store := refreshMeddledWith(t, func(ctx context.Context, s zenkey.Store,
				r zenkey.Record) {
				require.NoError(t, tt.meddle(ctx, s, r))
			})
			p := h.do(h.browser, http.MethodGet, "/token", false)

			assert.Equal(t, tt.status, p.status, p.body)
			assert.False(t, store.armed.Load(), "the refresh never took the lease")
			got, err := store.Get(t.Context(), store.key)
			tt.check(t, h, got, err)
		})
	}
}

// TestTouchLeavesALeasedSessionAlone sends a request that is due to touch
// the session while another request's refresh holds the lease: the touch
// must wait for the refresh's own write rather than race it.
func TestTouchLeavesALeasedSessionAlone(t *testing.T) {
	counting := &countingStore{Store: zenkey.NewMemoryStore()}
	h := newHarness(t, func(o *zenkey.Options) {
		o.Store = counting
		longSessions(o)
	})
	h.tokenRoute()
	h.login()
	h.clock.Advance(29 * time.Minute)
	h.do(h.browser, http.MethodGet, "/", false) // touches
	h.clock.Advance(59 * time.Second)           // due to refresh, not yet to touch
	h.idp.Delay(zenkeytest.Refresh, 300*time.Millisecond)

	refreshed := make(chan page)
	go func() { refreshed <- h.do(h.browser, http.MethodGet, "/token", false) }()
	require.Eventually(t, func() bool { return h.idp.Calls(zenkeytest.Refresh) == 1 },
		5*time.Second, time.Millisecond, "the refresh never reached the provider")
	h.clock.Advance(time.Second) // due to touch
	writes := counting.writes()
	assert.Equal(t, "home of "+testSubject, h.do(h.browser, http.MethodGet, "/", false).body)
	assert.Equal(t, writes, counting.writes(), "a touch wrote the leased record")

	p := <-refreshed
	assert.Equal(t, "ok", p.body)
	h.clock.Advance(30 * time.Minute)
	assert.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body)
	assert.Equal(t, 2, h.idp.Calls(zenkeytest.Refresh))
}

// eventLog records what the middleware hands to Options.OnEvent.
type eventLog struct {
	mu     sync.Mutex
	events []zenkey.Event
}

func (l *eventLog) record(e zenkey.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

// mark returns a position in the log, for since.
func (l *eventLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

// since returns the events recorded after mark, as "kind/reason".
func (l *eventLog) since(mark int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events[mark:] {
		out = append(out, string(e.Kind)+"/"+e.Reason)
	}
	return out
}

var errInjected = errors.New("store failure (injected)")

// failingStore hands each call to fail, once set, before making it: op
// is "Get", "Update" or "Delete", r the record an Update writes, and an
// error returned fails the call. fail may also change the store behind.
type failingStore struct {
	zenkey.Store
	mu   sync.Mutex
	fail func(op string, r *zenkey.Record, behind zenkey.Store) error
}

func (s *failingStore) set(fail func(op string, r *zenkey.Record, behind zenkey.Store) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = fail
}

func (s *failingStore) check(op string, r *zenkey.Record) error {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail == nil {
		return nil
	}
	return fail(op, r, s.Store)
}

func (s *failingStore) Get(ctx context.Context, key string) (*zenkey.Record, error) {
	if err := s.check("Get", nil); err != nil {
		return nil, err
	}
	return s.Store.Get(ctx, key)
}

func (s *failingStore) Update(ctx context.Context, r *zenkey.Record) error {
	if err := s.check("Update", r); err != nil {
		return err
	}
	return s.Store.Update(ctx, r)
}

func (s *failingStore) Delete(ctx context.Context, key string) error {
	if err := s.check("Delete", nil); err != nil {
		return err
	}
	return s.Store.Delete(ctx, key)
}

// failUpdates fails the writes of a record whose lease is held (leased)
// or free (!leased).
func failUpdates(leased bool) func(string, *zenkey.Record, zenkey.Store) error {
	return func(op string, r *zenkey.Record, _ zenkey.Store) error {
		if op == "Update" && r.LeaseUntil.IsZero() != leased {
			return errInjected
		}
		return nil
	}
}

// refreshHarness is a harness whose session is due to refresh, with its
// events recorded and its store failing as a test chooses. The session was
// touched just now, so a request makes no store write but the refresh's.
func refreshHarness(t *testing.T, advance time.Duration, edit func(*zenkey.Options),
) (*harness, *failingStore, *eventLog) {
	store, events := &failingStore{Store: zenkey.NewMemoryStore()}, &eventLog{}
	h := newHarness(t, func(o *zenkey.Options) {
		o.Store = store
		o.OnEvent = events.record
		longSessions(o)
		if edit != nil {
			edit(o)
		}
	})
	h.tokenRoute()
	require.Equal(t, http.StatusOK, h.login().status)
	h.clock.Advance(advance)
	require.Equal(t, "home of "+testSubject, h.do(h.browser, http.MethodGet, "/", false).body)
	return h, store, events
}

// TestRefreshFailuresAreReported fails a refresh in each way it can fail
// without ending the session: each failure must reach Options.OnEvent (and
// the log) once, as the store's or the provider's, with its reason.
func TestRefreshFailuresAreReported(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration // from login to the refresh
		fault   func(h *harness, s *failingStore)
		want    string
	}{
		{"store read fails", 30 * time.Minute, func(_ *harness, s *failingStore) {
			var gets atomic.Int32
			s.set(func(op string, _ *zenkey.Record, _ zenkey.Store) error {
				if op == "Get" && gets.Add(1) > 1 { // the request's own read passes
					return errInjected
				}
				return nil
			})
		}, "store_error/store_error"},
		{"lease write fails", 30 * time.Minute, func(_ *harness, s *failingStore) {
			s.set(failUpdates(true))
		}, "store_error/store_error"},
		{"result write fails", 30 * time.Minute, func(_ *harness, s *failingStore) {
			s.set(failUpdates(false))
		}, "store_error/store_error"},
		{"lease lost", 30 * time.Minute, func(_ *harness, s *failingStore) {
			var once sync.Once
			s.set(func(op string, r *zenkey.Record, behind zenkey.Store) error {
				if op != "Update" || !r.LeaseUntil.IsZero() {
					return nil
				}
				once.Do(func() { // another caller takes the lease over
					rec, err := behind.Get(context.Background(), r.Key)
					if assert.NoError(t, err) {
						rec.LeaseUntil = rec.LeaseUntil.Add(time.Second)
						assert.NoError(t, behind.Update(context.Background(), rec))
					}
				})
				return nil
			})
		}, "store_error/store_error"},
		{"provider unavailable", 30 * time.Minute, func(h *harness, _ *failingStore) {
			h.idp.Fail(zenkeytest.Refresh, http.StatusServiceUnavailable)
		}, "provider_error/provider_unavailable"},
		{"provider fails", 30 * time.Minute, func(h *harness, _ *failingStore) {
			h.idp.Fail(zenkeytest.Refresh, http.StatusInternalServerError)
		}, "provider_error/provider_unavailable"},
		{"provider refuses the client", 30 * time.Minute, func(h *harness, _ *failingStore) {
			h.idp.SetTokenError("invalid_client")
		}, "provider_error/provider_error"},
		{"provider keys unavailable", 30 * time.Minute, func(h *harness, _ *failingStore) {
			h.idp.RotateKey(false)
			h.idp.Fail(zenkeytest.JWKS, http.StatusServiceUnavailable)
		}, "provider_error/provider_unavailable"},
		{"carrier configuration unavailable", 2 * time.Hour, func(h *harness, _ *failingStore) {
			h.idp.Fail(zenkeytest.Discovery, http.StatusServiceUnavailable)
		}, "provider_error/provider_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, store, events := refreshHarness(t, tt.advance, nil)
			tt.fault(h, store)
			mark := events.mark()

			p := h.do(h.browser, http.MethodGet, "/token", false)

			assert.Equal(t, http.StatusBadGateway, p.status, p.body)
			assert.Equal(t, []string{tt.want}, events.since(mark))
		})
	}
}

// TestRefreshEndsASessionOnceDeleted refuses a refresh while the store
// cannot delete: the session is not reported ended while its record lives
// on, but the store's failure is. The caller still learns the session
// ended. Once the store deletes again, the next refresh ends it, without
// waiting for the failed one's lease to run out.
func TestRefreshEndsASessionOnceDeleted(t *testing.T) {
	h, store, events := refreshHarness(t, 30*time.Minute, nil)
	var got error
	h.mux.Handle("/token-error", h.zk.RequireLogin(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			_, got = zenkey.SessionFromContext(r.Context()).AccessToken(r.Context())
		})))
	h.idp.SetTokenError("invalid_grant")
	store.set(func(op string, _ *zenkey.Record, _ zenkey.Store) error {
		if op == "Delete" {
			return errInjected
		}
		return nil
	})
	mark := events.mark()

	h.do(h.browser, http.MethodGet, "/token-error", false)
	assert.ErrorIs(t, got, zenkey.ErrSessionEnded)
	assert.ErrorIs(t, got, errInjected)
	assert.Equal(t, []string{"store_error/store_error"}, events.since(mark))
	assert.True(t, h.signedIn(h.browser), "the record is still there")

	store.set(nil)
	mark = events.mark()
	assert.Equal(t, http.StatusUnauthorized, h.do(h.browser, http.MethodGet, "/token",
		false).status)
	assert.Equal(t, []string{"session_ended/refresh_refused"}, events.since(mark))
	assert.False(t, h.signedIn(h.browser))
}

// TestRefreshRefusesAMalformedIDToken answers a refresh with an id_token
// that is there but not a JWT string. Taking it for none would skip every
// check of the refresh: the session ends, as when any check fails.
func TestRefreshRefusesAMalformedIDToken(t *testing.T) {
	tests := []struct {
		name  string
		value any
	}{
		{"a number", 42},
		{"an object", map[string]any{"jwt": "x.y.z"}},
		{"an empty string", ""},
		{"a boolean", true},
		{"an array", []string{"x.y.z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tap := &formTap{}
			h, _, events := refreshHarness(t, 30*time.Minute, tap.install)
			tap.rewrite = func(a map[string]any) { a["id_token"] = tt.value }
			mark := events.mark()

			p := h.do(h.browser, http.MethodGet, "/token", false)

			assert.Equal(t, http.StatusUnauthorized, p.status, p.body)
			assert.Equal(t, []string{"session_ended/malformed_token"}, events.since(mark))
			assert.False(t, h.signedIn(h.browser), "the session is destroyed")
		})
	}
	t.Run("none", func(t *testing.T) {
		tap := &formTap{}
		h, _, _ := refreshHarness(t, 30*time.Minute, tap.install)
		tap.rewrite = func(a map[string]any) { delete(a, "id_token") }
		assert.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body,
			"a refresh without id_token keeps the login's")
	})
}

// TestRefreshSendsTheCorrelationID checks that the refresh request carries
// the login's correlation_id, which ZenKey reuses for every token call.
// Standard providers know of no such parameter and get none.
func TestRefreshSendsTheCorrelationID(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*zenkey.Options)
		sent bool
	}{
		{"ZenKey", nil, true},
		{"standard provider", useIssuer, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tap := &formTap{}
			h, _, _ := refreshHarness(t, 30*time.Minute, func(o *zenkey.Options) {
				tap.install(o)
				if tt.edit != nil {
					tt.edit(o)
				}
			})
			login := tap.lastForm("authorization_code")
			require.NotNil(t, login)

			require.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body)

			refresh := tap.lastForm("refresh_token")
			require.NotNil(t, refresh)
			if !tt.sent {
				assert.False(t, refresh.Has("correlation_id"), refresh.Encode())
				return
			}
			require.NotEmpty(t, login.Get("correlation_id"))
			assert.Equal(t, login["correlation_id"], refresh["correlation_id"])
			assert.NotEmpty(t, refresh.Get("refresh_token"), "the rest of the form is intact")
		})
	}
}

// TestRefreshRacingALogoutRevokesItsTokens: the provider has rotated the
// refresh token by the time a logout destroys the session. The logout
// revoked the old tokens; the refresh's new ones, which no session keeps,
// are revoked too.
func TestRefreshRacingALogoutRevokesItsTokens(t *testing.T) {
	h, _ := refreshMeddledWith(t, func(ctx context.Context, s zenkey.Store, r zenkey.Record) {
		require.NoError(t, s.Delete(ctx, r.Key))
	})
	require.Equal(t, http.StatusUnauthorized, h.do(h.browser, http.MethodGet, "/token",
		false).status)
	h.zk.WaitRevocations()

	fresh := h.issuedTokens() // the refresh's answer
	require.Equal(t, 1, h.idp.Calls(zenkeytest.Refresh))
	assert.True(t, h.idp.IsRevoked(fresh["refresh_token"]), "rotated refresh token left live")
	assert.True(t, h.idp.IsRevoked(fresh["access_token"]), "new access token left live")
}
