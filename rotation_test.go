package zenkey_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
)

// TestMasterSecretRotation replaces the master secret, keeping the old one
// in PreviousSecretKeys: a session made under the old secret keeps working,
// is sealed again under the new one on its next write (the key id in its
// blob changes), and "log out everywhere" still finds it.
func TestMasterSecretRotation(t *testing.T) {
	spy := &blobSpy{Store: zenkey.NewMemoryStore()}
	h := newHarness(t, func(o *zenkey.Options) { o.Store = spy; longSessions(o) })
	h.login()
	kept := h.cookies(h.browser)
	sealedBefore := spy.lastWrite()

	opts := h.opts
	opts.SecretKey = []byte("a-brand-new-master-secret-0123456789abcdef")
	opts.PreviousSecretKeys = []zenkey.Secret{testMasterKey}
	zk, err := zenkey.New(opts)
	require.NoError(t, err)
	b := h.secondInstance(spy)
	b.zk = zk
	b.app.Config.Handler = zk.Handler(b.routes())

	require.True(t, b.signedIn(b.browserWith(kept)), "a cookie of the old secret still works")
	h.clock.Advance(2 * time.Minute) // the next request writes (touch)
	require.True(t, b.signedIn(b.browserWith(kept)))
	sealedAfter := spy.lastWrite()
	assert.NotEqual(t, sealedBefore[1:5], sealedAfter[1:5], "not sealed again under the new secret")

	n, err := zk.LogoutSubject(t.Context(), testSubject)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "log out everywhere finds a session indexed under the old secret")
	assert.False(t, b.signedIn(b.browserWith(kept)))
}

// blobSpy remembers the blob of the last session record written.
type blobSpy struct {
	zenkey.Store
	mu   sync.Mutex
	blob []byte
}

func (s *blobSpy) note(r *zenkey.Record) {
	if r.Subject == "" { // login flows and jti records carry no subject
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blob = append([]byte(nil), r.Blob...)
}

func (s *blobSpy) lastWrite() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blob
}

func (s *blobSpy) Create(ctx context.Context, r *zenkey.Record) error {
	err := s.Store.Create(ctx, r)
	if err == nil {
		s.note(r)
	}
	return err
}

func (s *blobSpy) Update(ctx context.Context, r *zenkey.Record) error {
	err := s.Store.Update(ctx, r)
	if err == nil {
		s.note(r)
	}
	return err
}
