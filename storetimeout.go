package zenkey

import (
	"context"
	"time"
)

// timeoutStore bounds every write and delete the middleware makes, so a
// stalled store turns into a clear 503 instead of a hung request. Reads are
// left to the request's own context: they are on every request's path, and
// a timer per read would cost more than the read of an in-memory store.
type timeoutStore struct {
	Store
	d time.Duration
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
