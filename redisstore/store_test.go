package redisstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/redisstore"
	"github.com/zenkey-go/zenkey/storetest"
)

// serverAddr returns the address in ZENKEY_TEST_REDIS_ADDR, or skips the
// test when it is unset.
func serverAddr(tb testing.TB) string {
	addr := os.Getenv("ZENKEY_TEST_REDIS_ADDR")
	if addr == "" {
		tb.Skip("set ZENKEY_TEST_REDIS_ADDR (e.g. 127.0.0.1:6379) to test against Redis")
	}
	return addr
}

// newClient returns a client of the test server, closed when the test ends.
func newClient(tb testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: serverAddr(tb)})
	tb.Cleanup(func() { c.Close() })
	return c
}

// newPrefix returns a key prefix of the test's own, and deletes its keys
// when the test ends.
func newPrefix(tb testing.TB, c *redis.Client) string {
	prefix := "zenkeytest-" + rand.Text()
	tb.Cleanup(func() {
		if err := deleteKeys(context.Background(), c, prefix+":*"); err != nil {
			tb.Errorf("deleting the test's keys: %v", err)
		}
	})
	return prefix
}

// deleteKeys deletes the keys that match pattern.
func deleteKeys(ctx context.Context, c *redis.Client, pattern string) error {
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		if err := c.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}

// newStore returns a store over c with prefix.
func newStore(tb testing.TB, c redis.UniversalClient, prefix string) *redisstore.Store {
	s, err := redisstore.New(c, redisstore.Options{Prefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// open returns a store with a client and a prefix of its own.
func open(tb testing.TB) *redisstore.Store {
	c := newClient(tb)
	return newStore(tb, c, newPrefix(tb, c))
}

func TestStore(t *testing.T) {
	serverAddr(t)
	storetest.Run(t, func(t *testing.T) zenkey.Store { return open(t) })
}

// TestTwoInstances has two stores, as two app instances would, share one
// server, each with its own connections.
func TestTwoInstances(t *testing.T) {
	ca, cb := newClient(t), newClient(t)
	prefix := newPrefix(t, ca)
	a, b := newStore(t, ca, prefix), newStore(t, cb, prefix)
	ctx := t.Context()

	r := newRecord()
	if err := a.Create(ctx, r); err != nil {
		t.Fatalf("a.Create: %v", err)
	}
	if err := b.Create(ctx, newRecordWithKey(r.Key)); !errors.Is(err, zenkey.ErrConflict) {
		t.Errorf("b.Create of a's key: %v, want ErrConflict", err)
	}

	// b takes the lease a read too: a's write is then stale.
	readA, readB := mustGet(t, a, r.Key), mustGet(t, b, r.Key)
	readB.LeaseUntil = time.Now().Add(time.Minute)
	if err := b.Update(ctx, readB); err != nil {
		t.Fatalf("b.Update: %v", err)
	}
	readA.LeaseUntil = time.Now().Add(time.Minute)
	if err := a.Update(ctx, readA); !errors.Is(err, zenkey.ErrConflict) {
		t.Errorf("a.Update of the version b replaced: %v, want ErrConflict", err)
	}
	if got := mustGet(t, a, r.Key); got.Version != readB.Version {
		t.Errorf("a reads version %d, want b's %d", got.Version, readB.Version)
	}

	// Logging out everywhere from b ends what a created.
	if n, err := b.DeleteSubject(ctx, r.Subject); n != 1 || err != nil {
		t.Errorf("b.DeleteSubject = %d, %v; want 1, nil", n, err)
	}
	if _, err := a.Get(ctx, r.Key); !errors.Is(err, zenkey.ErrNotFound) {
		t.Errorf("a.Get after b.DeleteSubject: %v, want ErrNotFound", err)
	}
}

func TestNew(t *testing.T) {
	if _, err := redisstore.New(nil, redisstore.Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialed
	defer c.Close()
	for _, prefix := range []string{"app{1}", "app}", "{"} {
		if _, err := redisstore.New(c, redisstore.Options{Prefix: prefix}); err == nil {
			t.Errorf("New accepted prefix %q", prefix)
		}
	}
}

// TestLayout checks the keys that the package doc describes, with the
// default prefix, and that Redis drops them when the record ends.
func TestLayout(t *testing.T) {
	c := newClient(t)
	s := newStore(t, c, "")
	ctx := t.Context()
	r := newRecord()
	r.IdleDeadline = time.Now().Add(time.Minute)
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	keys := []string{
		"zenkey:{" + r.Key + "}",
		"zenkey:subject:{" + r.Subject + "}",
		"zenkey:sid:{" + r.SID + "}",
	}
	t.Cleanup(func() { c.Del(context.Background(), keys...) })

	for _, key := range keys {
		ttl, err := c.PTTL(ctx, key).Result()
		if err != nil || ttl < 59*time.Second || ttl > time.Minute+time.Second {
			t.Errorf("PTTL %s = %v, %v; want about a minute", key, ttl, err)
		}
	}
	for _, key := range keys[1:] {
		members, err := c.ZRange(ctx, key, 0, -1).Result()
		if err != nil || len(members) != 1 || members[0] != r.Key {
			t.Errorf("ZRANGE %s = %q, %v; want the record's key", key, members, err)
		}
	}

	// The hash has the fields the doc lists, and its field v agrees with
	// the version packed in r, also after an update.
	if err := s.Update(ctx, r); err != nil {
		t.Fatal(err)
	}
	hash, err := c.HGetAll(ctx, keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"v": "2", "x": strconv.FormatInt(r.Expires().UnixMilli(), 10),
		"s": r.Subject, "d": r.SID, "r": hash["r"],
	}
	if !maps.Equal(hash, want) {
		t.Errorf("HGETALL %s has fields %v, want %v", keys[0], slices.Sorted(maps.Keys(hash)),
			slices.Sorted(maps.Keys(want)))
	}
	if got := mustGet(t, s, r.Key); got.Version != 2 {
		t.Errorf("Get after Update: version %d, want 2 as field v", got.Version)
	}
}

// TestUnreadable checks what Get makes of hashes it cannot read: one of the
// layout before field r is not found, and a damaged field r is an error of
// its own, never a record.
func TestUnreadable(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	s := newStore(t, c, prefix)
	ctx := t.Context()

	old := newRecord()
	err := c.HSet(ctx, prefix+":{"+old.Key+"}", "v", 1, "x",
		old.Expires().UnixMilli(), "c", "", "l", "", "i", "", "a", "", "u", "",
		"s", old.Subject, "d", old.SID, "b", old.Blob).Err()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, old.Key); !errors.Is(err, zenkey.ErrNotFound) {
		t.Errorf("Get of a record in the old layout: %v, want ErrNotFound", err)
	}

	// Logging out everywhere still removes it, as listed by the old code.
	end := redis.Z{Score: float64(old.Expires().UnixMilli()), Member: old.Key}
	if err := c.ZAdd(ctx, prefix+":subject:{"+old.Subject+"}", end).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteSubject(ctx, old.Subject); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Exists(ctx, prefix+":{"+old.Key+"}").Result(); n != 0 {
		t.Error("DeleteSubject left the record in the old layout")
	}

	damaged := newRecord()
	if err := s.Create(ctx, damaged); err != nil {
		t.Fatal(err)
	}
	key := prefix + ":{" + damaged.Key + "}"
	packed, err := c.HGet(ctx, key, "r").Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.HSet(ctx, key, "r", packed[:len(packed)-1]).Err(); err != nil {
		t.Fatal(err)
	}
	r, err := s.Get(ctx, damaged.Key)
	if r != nil || err == nil || errors.Is(err, zenkey.ErrNotFound) ||
		!strings.HasPrefix(err.Error(), "zenkey/redisstore: ") {
		t.Errorf("Get of a record cut short = %v, %v; want a package error", r, err)
	}
}

// TestStaleEntries checks that index entries outliving their records do no
// harm, and that index writes drop those whose records have ended.
func TestStaleEntries(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	s := newStore(t, c, prefix)
	ctx := t.Context()
	index := prefix + ":subject:{subject}"

	// A record that Redis has dropped, and one deleted by key, which takes
	// its entry with it.
	ended, deleted := newRecord(), newRecord()
	ended.Subject, deleted.Subject = "subject", "subject"
	ended.IdleDeadline = time.Now().Add(50 * time.Millisecond)
	for _, r := range []*zenkey.Record{ended, deleted} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, deleted.Key); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)

	// Indexing a new record drops the ended record's entry only.
	live := newRecord()
	live.Subject = "subject"
	if err := s.Create(ctx, live); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.ZCard(ctx, index).Result(); n != 1 {
		t.Errorf("index holds %d entries, want 1 (live)", n)
	}

	// Deleting by subject counts the live record only, and empties the
	// index.
	if n, err := s.DeleteSubject(ctx, "subject"); n != 1 || err != nil {
		t.Errorf("DeleteSubject = %d, %v; want 1, nil", n, err)
	}
	if n, _ := c.Exists(ctx, index).Result(); n != 0 {
		t.Error("index still exists")
	}
}

// TestDeleteTakesItsIndexEntries: a logout leaves no index behind, so that
// login and logout cycles leave nothing in Redis.
func TestDeleteTakesItsIndexEntries(t *testing.T) {
	c := newClient(t)
	prefix := newPrefix(t, c)
	s := newStore(t, c, prefix)
	ctx := t.Context()
	r := newRecord()
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, r.Key); err != nil {
		t.Fatal(err)
	}
	keys, err := c.Keys(ctx, prefix+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("after Delete, Redis holds %v", keys)
	}
}

// BenchmarkStore measures each operation alone; see storetest.Benchmark.
func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, open(b)) }

// newRecord returns a live record with random key, subject and sid, and a
// blob the size of a typical session's.
func newRecord() *zenkey.Record {
	return newRecordWithKey(randomHex())
}

// newRecordWithKey returns a live record with the key.
func newRecordWithKey(key string) *zenkey.Record {
	now := time.Now()
	return &zenkey.Record{
		Key:              key,
		Created:          now,
		LastSeen:         now,
		IdleDeadline:     now.Add(time.Hour),
		AbsoluteDeadline: now.Add(24 * time.Hour),
		Subject:          randomHex(),
		SID:              randomHex(),
		Blob:             []byte(rand.Text() + rand.Text()),
	}
}

// randomHex returns 64 random hex characters, the shape of a key.
func randomHex() string {
	b := make([]byte, 32)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// mustGet returns the record with the key, or ends the test.
func mustGet(tb testing.TB, s zenkey.Store, key string) *zenkey.Record {
	tb.Helper()
	r, err := s.Get(tb.Context(), key)
	if err != nil {
		tb.Fatalf("Get: %v", err)
	}
	return r
}
