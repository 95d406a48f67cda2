package zenkey_test

import (
	"context"
	"net/http"
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
		{"another request's write", func(ctx context.Context, s zenkey.Store, r zenkey.Record) error {
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
		{"another caller's lease", func(ctx context.Context, s zenkey.Store, r zenkey.Record) error {
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
			store := &meddlingStore{Store: zenkey.NewMemoryStore()}
			store.meddle = func(ctx context.Context, s zenkey.Store, r zenkey.Record) {
				require.NoError(t, tt.meddle(ctx, s, r))
			}
			h := newHarness(t, func(o *zenkey.Options) {
				o.Store = store
				longSessions(o)
			})
			h.tokenRoute()
			h.login()
			h.clock.Advance(29*time.Minute + 30*time.Second)

			store.armed.Store(true)
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
