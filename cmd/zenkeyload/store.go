package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite" // the "sqlite" driver, to count the rows a run left

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/pgstore"
	"github.com/zenkey-go/zenkey/redisstore"
	"github.com/zenkey-go/zenkey/sqlitestore"
)

// connectTimeout bounds the first contact with a Redis or PostgreSQL server.
const connectTimeout = 5 * time.Second

// A storeSpec is a parsed -store: the kind of store and its file or URL.
type storeSpec struct {
	kind   string // memory, sqlite, redis or postgres
	target string
}

// parseStore parses -store, refusing servers that are not on loopback.
func parseStore(s string) (storeSpec, error) {
	scheme, rest, _ := strings.Cut(s, ":")
	var spec storeSpec
	switch {
	case s == "memory":
		return storeSpec{kind: "memory"}, nil
	case scheme == "sqlite" && rest != "":
		return storeSpec{"sqlite", rest}, nil
	case scheme == "redis" || scheme == "rediss":
		spec = storeSpec{"redis", s}
	case scheme == "postgres" || scheme == "postgresql":
		spec = storeSpec{"postgres", s}
	default:
		return storeSpec{}, errors.New("zenkeyload: -store must be memory, sqlite:PATH, " +
			"redis://HOST:PORT[/DB] or postgres://USER@HOST/DB")
	}
	hosts, err := spec.hosts()
	if err != nil {
		return storeSpec{}, fmt.Errorf("zenkeyload: -store: %w", err)
	}
	for _, h := range hosts {
		if !strings.HasPrefix(h, "/") && !isLoopback(h) {
			return storeSpec{}, fmt.Errorf("zenkeyload: -store names host %q, which is not "+
				"loopback: use localhost, 127.0.0.1 or ::1", h)
		}
	}
	return spec, nil
}

// hosts returns every host a Redis or PostgreSQL URL may connect to; Unix
// socket paths start with a slash.
func (s storeSpec) hosts() ([]string, error) {
	switch s.kind {
	case "redis":
		opts, err := redis.ParseURL(s.target)
		if err != nil {
			return nil, err
		}
		if opts.Network == "unix" {
			return []string{opts.Addr}, nil
		}
		host, _, err := net.SplitHostPort(opts.Addr)
		return []string{host}, err
	case "postgres":
		cfg, err := pgxpool.ParseConfig(s.target)
		if err != nil {
			return nil, err
		}
		hosts := []string{cfg.ConnConfig.Host}
		for _, f := range cfg.ConnConfig.Fallbacks {
			hosts = append(hosts, f.Host)
		}
		return hosts, nil
	}
	return nil, nil
}

// String describes the store without credentials.
func (s storeSpec) String() string {
	switch s.kind {
	case "memory":
		return "memory"
	case "sqlite":
		return "sqlite:" + s.target
	}
	u, err := url.Parse(s.target)
	if err != nil {
		return s.kind
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// An openedStore is a store opened for one run, with what finishes it:
// finish closes the store, counts the records left in it (of every kind),
// and removes what the run created in a shared server.
type openedStore struct {
	zenkey.Store
	finish func(ctx context.Context) (storeCount, error)
}

// storeCount is what a finished store still holds.
type storeCount struct {
	records int

	// indexKeys and indexEntries count Redis's index sorted sets and their
	// members: entries of deleted records stay until the index expires.
	indexKeys, indexEntries int
	redis                   bool
}

// openStore opens the store spec describes. With empty, the store must
// hold no record yet: a cycles run counts what is left in it at the end.
func openStore(ctx context.Context, spec storeSpec, empty bool) (*openedStore, error) {
	switch spec.kind {
	case "memory":
		m := zenkey.NewMemoryStore()
		return &openedStore{m, func(context.Context) (storeCount, error) {
			m.Close()
			return storeCount{records: m.Len()}, nil
		}}, nil
	case "sqlite":
		return openSQLite(ctx, spec.target, empty)
	case "redis":
		return openRedis(ctx, spec.target)
	case "postgres":
		return openPostgres(ctx, spec.target)
	}
	return nil, fmt.Errorf("zenkeyload: unknown store kind %q", spec.kind)
}

// openSQLite opens the store at path. Its rows are counted through a
// connection of the tool's own once the store is closed.
func openSQLite(ctx context.Context, path string, empty bool) (*openedStore, error) {
	s, err := sqlitestore.Open(path)
	if err != nil {
		return nil, err
	}
	if empty {
		n, err := countSQLite(ctx, path)
		if err == nil && n > 0 {
			err = fmt.Errorf("zenkeyload: cycles needs an empty store, and %s holds %d records: "+
				"name a new file", path, n)
		}
		if err != nil {
			s.Close()
			return nil, err
		}
	}
	return &openedStore{s, func(ctx context.Context) (storeCount, error) {
		if err := s.Close(); err != nil {
			return storeCount{}, err
		}
		n, err := countSQLite(ctx, path)
		return storeCount{records: n}, err
	}}, nil
}

// countSQLite counts the rows of the store's table in the file at path.
func countSQLite(ctx context.Context, path string) (int, error) {
	db, err := readSQLite(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM records").Scan(&n); err != nil {
		return 0, fmt.Errorf("zenkeyload: counting the rows of %s: %w", path, err)
	}
	return n, nil
}

// readSQLite opens the database file at path read-only, through
// connections of the tool's own: it neither creates the file nor writes to
// it. In WAL mode, as the store runs it, such a reader may share the file
// with a process that is writing it.
func readSQLite(path string) (*sql.DB, error) {
	// A relative path would read as the URL's host: file://dir/file.db.
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro&_pragma=busy_timeout(5000)"}
	return sql.Open("sqlite", u.String())
}

// openRedis opens a store under a prefix of the run's own, so that it
// starts empty and can be deleted afterwards without touching other data.
func openRedis(ctx context.Context, rawURL string) (*openedStore, error) {
	client, err := dialRedis(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	prefix := "zenkeyload-" + randomHex(6)
	s, err := redisstore.New(client, redisstore.Options{Prefix: prefix})
	if err != nil {
		client.Close()
		return nil, err
	}
	return &openedStore{s, func(ctx context.Context) (storeCount, error) {
		defer client.Close()
		c, err := countRedis(ctx, client, prefix)
		if derr := deleteRedis(ctx, client, prefix); err == nil {
			err = derr
		}
		return c, err
	}}, nil
}

// dialRedis connects to the Redis server at the URL, and checks that it
// answers.
func dialRedis(ctx context.Context, rawURL string) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("zenkeyload: -store: %w", err)
	}
	client := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("zenkeyload: Redis at %s does not answer: %w", opts.Addr, err)
	}
	return client, nil
}

// countRedis counts the records under prefix, and the index sorted sets
// and their members.
func countRedis(ctx context.Context, client *redis.Client, prefix string) (storeCount, error) {
	c := storeCount{redis: true}
	records, err := scanKeys(ctx, client, prefix+":{*")
	if err != nil {
		return c, err
	}
	c.records = len(records)
	for _, index := range []string{prefix + ":subject:*", prefix + ":sid:*"} {
		keys, err := scanKeys(ctx, client, index)
		if err != nil {
			return c, err
		}
		c.indexKeys += len(keys)
		for _, k := range keys {
			n, err := client.ZCard(ctx, k).Result()
			if err != nil {
				return c, err
			}
			c.indexEntries += int(n)
		}
	}
	return c, nil
}

// deleteRedis deletes every key under prefix.
func deleteRedis(ctx context.Context, client *redis.Client, prefix string) error {
	keys, err := scanKeys(ctx, client, prefix+":*")
	for len(keys) > 0 && err == nil {
		batch := keys[:min(len(keys), 500)]
		keys = keys[len(batch):]
		err = client.Unlink(ctx, batch...).Err()
	}
	return err
}

func scanKeys(ctx context.Context, client *redis.Client, match string) ([]string, error) {
	var keys []string
	iter := client.Scan(ctx, 0, match, 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

// openPostgres opens a store in a table of the run's own, dropped
// afterwards.
func openPostgres(ctx context.Context, rawURL string) (*openedStore, error) {
	pool, err := dialPostgres(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	table := "zenkeyload_" + randomHex(6)
	s, err := pgstore.New(ctx, pool, pgstore.Options{Table: table})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &openedStore{s, func(ctx context.Context) (storeCount, error) {
		defer pool.Close()
		s.Close()
		var n int
		err := pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		if _, derr := pool.Exec(ctx, "DROP TABLE IF EXISTS "+table); err == nil {
			err = derr
		}
		return storeCount{records: n}, err
	}}, nil
}

// dialPostgres connects to the PostgreSQL server at the URL, and checks
// that it answers.
func dialPostgres(ctx context.Context, rawURL string) (*pgxpool.Pool, error) {
	pool, err := pgxpool.New(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("zenkeyload: -store: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("zenkeyload: PostgreSQL does not answer: %w", err)
	}
	return pool, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// trackingStore counts the calls the middleware makes, and, while tracking
// is on, remembers the keys of the records created: sessions carry a
// subject, pending logins none.
type trackingStore struct {
	zenkey.Store
	gets, creates, updates, deletes atomic.Int64

	tracking atomic.Bool
	mu       sync.Mutex
	sessions []string
	logins   []string
}

func (t *trackingStore) Get(ctx context.Context, key string) (*zenkey.Record, error) {
	t.gets.Add(1)
	return t.Store.Get(ctx, key)
}

func (t *trackingStore) Create(ctx context.Context, r *zenkey.Record) error {
	t.creates.Add(1)
	err := t.Store.Create(ctx, r)
	if err == nil && t.tracking.Load() {
		t.mu.Lock()
		if r.Subject != "" {
			t.sessions = append(t.sessions, r.Key)
		} else {
			t.logins = append(t.logins, r.Key)
		}
		t.mu.Unlock()
	}
	return err
}

func (t *trackingStore) Update(ctx context.Context, r *zenkey.Record) error {
	t.updates.Add(1)
	return t.Store.Update(ctx, r)
}

func (t *trackingStore) Delete(ctx context.Context, key string) error {
	t.deletes.Add(1)
	return t.Store.Delete(ctx, key)
}

// counters is a snapshot of a trackingStore's call counts.
type counters struct{ gets, creates, updates, deletes int64 }

func (t *trackingStore) counters() counters {
	return counters{t.gets.Load(), t.creates.Load(), t.updates.Load(), t.deletes.Load()}
}

func (c counters) sub(d counters) counters {
	return counters{c.gets - d.gets, c.creates - d.creates, c.updates - d.updates,
		c.deletes - d.deletes}
}

// live counts the tracked sessions and pending logins that the store still
// returns, reading them directly (the counts bypass nothing).
func (t *trackingStore) live(ctx context.Context) (sessions, logins int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	count := func(keys []string) (int, error) {
		n := 0
		for _, k := range keys {
			_, err := t.Store.Get(ctx, k)
			switch {
			case err == nil:
				n++
			case !errors.Is(err, zenkey.ErrNotFound):
				return n, err
			}
		}
		return n, nil
	}
	if sessions, err = count(t.sessions); err != nil {
		return sessions, 0, err
	}
	logins, err = count(t.logins)
	return sessions, logins, err
}
