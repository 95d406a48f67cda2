package zenkey

import (
	"context"
	"time"
)

// timeoutStore bounds every call the middleware makes to the store, so a
// stalled store turns into a clear 503 instead of a hung request.
// A MemoryStore never waits for anything but a lock: its reads, on every
// request's path, are left without the timer.
type timeoutStore struct {
	Store
	d time.Duration
}

func (s timeoutStore) Get(ctx context.Context, key string) (*Record, error) {
	if m, ok := s.Store.(*MemoryStore); ok {
		return m.Get(ctx, key)
	}
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.Store.Get(ctx, key)
}

func (s timeoutStore) Create(ctx context.Context, r *Record) error {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.Store.Create(ctx, r)
}

func (s timeoutStore) Update(ctx context.Context, r *Record) error {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.Store.Update(ctx, r)
}

func (s timeoutStore) Delete(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.Store.Delete(ctx, key)
}

func (s timeoutStore) DeleteSubject(ctx context.Context, subject string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.Store.DeleteSubject(ctx, subject)
}

func (s timeoutStore) DeleteSID(ctx context.Context, sid string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d)
	defer cancel()
	return s.Store.DeleteSID(ctx, sid)
}
