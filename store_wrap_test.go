package zenkey_test

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/zenkey-go/zenkey"
)

// countingStore counts the reads and writes made through it.
type countingStore struct {
	zenkey.Store
	updates atomic.Int64
	gets    atomic.Int64
	others  atomic.Int64 // creates and deletes of every kind
}

// writes is how many calls wrote, or could have written, to the store.
func (c *countingStore) writes() int64 { return c.updates.Load() + c.others.Load() }

func (c *countingStore) Create(ctx context.Context, r *zenkey.Record) error {
	c.others.Add(1)
	return c.Store.Create(ctx, r)
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	c.others.Add(1)
	return c.Store.Delete(ctx, key)
}

func (c *countingStore) DeleteSubject(ctx context.Context, subject string) (int, error) {
	c.others.Add(1)
	return c.Store.DeleteSubject(ctx, subject)
}

func (c *countingStore) DeleteSID(ctx context.Context, sid string) (int, error) {
	c.others.Add(1)
	return c.Store.DeleteSID(ctx, sid)
}

func (c *countingStore) Get(ctx context.Context, key string) (*zenkey.Record, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *countingStore) Update(ctx context.Context, r *zenkey.Record) error {
	c.updates.Add(1)
	return c.Store.Update(ctx, r)
}

var errStoreDown = errors.New("store down (injected)")

// faultyStore fails or stalls the calls a test chooses.
type faultyStore struct {
	zenkey.Store
	failGet, failDelete, stallDelete atomic.Bool
}

func (f *faultyStore) Get(ctx context.Context, key string) (*zenkey.Record, error) {
	if f.failGet.Load() {
		return nil, errStoreDown
	}
	return f.Store.Get(ctx, key)
}

func (f *faultyStore) Delete(ctx context.Context, key string) error {
	if f.stallDelete.Load() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute):
		}
	}
	if f.failDelete.Load() {
		return errStoreDown
	}
	return f.Store.Delete(ctx, key)
}
