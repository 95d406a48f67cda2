package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zenkey-go/zenkey"
)

// Options configures a [Store]. The zero value is ready to use.
type Options struct {
	// Prefix starts every key the store writes, so that several apps (or
	// tests) can share a server. Default "zenkey". It must not contain "{"
	// or "}", which Redis Cluster reads as a hash tag.
	Prefix string
}

// A Store is a [zenkey.Store] kept in Redis. It is safe for concurrent use,
// also by several app instances sharing the server.
type Store struct {
	client redis.UniversalClient
	reads  *reader
	prefix string
}

var _ zenkey.Store = (*Store)(nil)

// New returns a store that keeps its records through client. The store does
// not close the client.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("zenkey/redisstore: nil client")
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = "zenkey"
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("zenkey/redisstore: prefix %q contains a brace", prefix)
	}
	return &Store{client: client, reads: newReader(client), prefix: prefix}, nil
}

// Create inserts r if no record has its key.
func (s *Store) Create(ctx context.Context, r *zenkey.Record) error {
	now := time.Now()
	args := append([]any{ttlMillis(r, now)}, fields(r, 1)...)
	created, err := createScript.Run(ctx, s.client, []string{s.recordKey(r.Key)}, args...).Bool()
	if err != nil {
		return fmt.Errorf("zenkey/redisstore: create: %w", err)
	}
	if !created {
		return zenkey.ErrConflict
	}

	if err := s.list(ctx, r, now); err != nil {
		// An unlisted record would escape DeleteSubject and DeleteSID: take
		// it back. Should that fail too, it ends with its TTL.
		s.client.Del(context.WithoutCancel(ctx), s.recordKey(r.Key))
		return err
	}
	r.Version = 1
	return nil
}

// Get returns the live record with the key, in one round trip.
func (s *Store) Get(ctx context.Context, key string) (*zenkey.Record, error) {
	packed, err := s.reads.get(ctx, s.recordKey(key))
	if errors.Is(err, redis.Nil) {
		// No record, or one written before records were packed: see the
		// package doc.
		return nil, zenkey.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("zenkey/redisstore: get: %w", err)
	}
	r, err := unpack(key, packed)
	if err != nil {
		return nil, err
	}

	// Redis drops a record only some time after it ends.
	if !r.Live(time.Now()) {
		return nil, zenkey.ErrNotFound
	}
	return r, nil
}

// Update replaces the stored record with r if it is live and has r's
// version.
func (s *Store) Update(ctx context.Context, r *zenkey.Record) error {
	now := time.Now()

	// List the record first: should the update then fail, the entry is
	// merely stale, while an updated record missing from its index would
	// escape DeleteSubject and DeleteSID.
	if err := s.list(ctx, r, now); err != nil {
		return err
	}

	args := append([]any{r.Version, now.UnixMilli(), ttlMillis(r, now)},
		fields(r, r.Version+1)...)
	updated, err := updateScript.Run(ctx, s.client, []string{s.recordKey(r.Key)}, args...).Bool()
	if err != nil {
		return fmt.Errorf("zenkey/redisstore: update: %w", err)
	}
	if !updated {
		return zenkey.ErrConflict
	}
	r.Version++
	return nil
}

// Delete removes the record with the key, then its index entries. Should
// those stay behind, they are stale and harmless.
func (s *Store) Delete(ctx context.Context, key string) error {
	rk := s.recordKey(key)
	var listed *redis.SliceCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		listed = p.HMGet(ctx, rk, bySubject.field, bySID.field)
		p.Del(ctx, rk)
		return nil
	})
	if err != nil {
		return fmt.Errorf("zenkey/redisstore: delete: %w", err)
	}
	s.unlist(ctx, key, listed.Val())
	return nil
}

// recordKey returns the Redis key of the record with the key.
func (s *Store) recordKey(key string) string {
	return s.prefix + ":{" + key + "}"
}

// ttlMillis returns how long Redis keeps r, measured from now: the time left
// until r ends, rounded up so that Redis never drops a live record. A record
// that has already ended gets zero, and Redis drops it at once.
func ttlMillis(r *zenkey.Record, now time.Time) int64 {
	left := r.Expires().Sub(now)
	if left <= 0 {
		return 0
	}
	return int64((left + time.Millisecond - 1) / time.Millisecond)
}
