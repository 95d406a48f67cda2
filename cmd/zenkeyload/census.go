package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// The example opens its Redis and PostgreSQL stores with the packages'
// defaults (example/store.go), so its records are there.
const (
	exampleRedisPrefix = "zenkey"          // redisstore.Options.Prefix's default
	examplePGTable     = "zenkey_sessions" // pgstore.Options.Table's default
)

// A census is what a run against a running app left in the app's store.
//
// The store is the app's, shared with whoever else uses the app, and it
// may hold records from before the run, which the app's sweeper may delete
// while the run goes on: comparing counts could hide a record left behind.
// So a census lists the store's keys before the run and after it, and
// looks at the records whose keys are new. Any other sign-in to the app
// during the run would be counted as the run's.
type census struct {
	before, after int // records in the store
	sessions      int // new records with a subject: sessions
	logins        int // new records without one: pending logins
}

// left is the number of records the run created that are still there.
func (c *census) left() int { return c.sessions + c.logins }

// takeCensus lists the store's keys now, and counts the sessions and
// pending logins among those that are not in before.
func takeCensus(ctx context.Context, r storeReader, before map[string]bool) (*census, error) {
	after, err := r.keys(ctx)
	if err != nil {
		return nil, err
	}
	var added []string
	for k := range after {
		if !before[k] {
			added = append(added, k)
		}
	}
	c := &census{before: len(before), after: len(after)}
	c.sessions, c.logins, err = r.kinds(ctx, added)
	return c, err
}

// A storeReader reads the records of a store that a running app owns, from
// outside the app's process. It never writes.
type storeReader interface {
	// keys returns the keys of every record in the store.
	keys(ctx context.Context) (map[string]bool, error)

	// kinds counts which of keys are sessions (records with a subject) and
	// which pending logins (records without one). A key whose record is
	// gone is neither.
	kinds(ctx context.Context, keys []string) (sessions, logins int, err error)

	close()
}

// openReader opens a reader of the store spec names, which a running app
// owns. It returns nil for the memory store: that lives in the app's
// process, out of reach.
func openReader(ctx context.Context, spec storeSpec) (storeReader, error) {
	switch spec.kind {
	case "memory":
		return nil, nil
	case "sqlite":
		return openSQLiteReader(spec.target)
	case "redis":
		client, err := dialRedis(ctx, spec.target)
		if err != nil {
			return nil, err
		}
		return &redisReader{client, exampleRedisPrefix}, nil
	case "postgres":
		pool, err := dialPostgres(ctx, spec.target)
		if err != nil {
			return nil, err
		}
		return &pgReader{pool, pgx.Identifier{examplePGTable}.Sanitize()}, nil
	}
	return nil, fmt.Errorf("zenkeyload: unknown store kind %q", spec.kind)
}

// sqliteReader reads the app's SQLite file, beside the app: the store runs
// it in WAL mode, where readers of other processes neither block the
// app's writes nor wait for them.
type sqliteReader struct{ db *sql.DB }

// openSQLiteReader opens the file at path, which must exist: a mistyped
// path must not count as an empty store.
func openSQLiteReader(path string) (*sqliteReader, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("zenkeyload: -store: %s does not exist: name the file of the "+
			"app's ZENKEY_STORE, relative to this directory", path)
	}
	db, err := readSQLite(path)
	if err != nil {
		return nil, fmt.Errorf("zenkeyload: -store: %w", err)
	}
	return &sqliteReader{db}, nil
}

func (r *sqliteReader) keys(ctx context.Context) (map[string]bool, error) {
	rows, err := r.db.QueryContext(ctx, "SELECT key FROM records")
	if err != nil {
		return nil, fmt.Errorf("zenkeyload: reading the app's SQLite store: %w", err)
	}
	defer rows.Close()
	keys := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys[k] = true
	}
	return keys, rows.Err()
}

func (r *sqliteReader) kinds(ctx context.Context, keys []string) (int, int, error) {
	return countKinds(keys, func(key string) (bool, error) {
		var session bool
		err := r.db.QueryRowContext(ctx, "SELECT subject <> '' FROM records WHERE key = ?",
			key).Scan(&session)
		return session, err
	})
}

func (r *sqliteReader) close() { r.db.Close() }

// pgReader reads the app's PostgreSQL table.
type pgReader struct {
	pool  *pgxpool.Pool
	table string // quoted
}

func (r *pgReader) keys(ctx context.Context) (map[string]bool, error) {
	rows, err := r.pool.Query(ctx, "SELECT key FROM "+r.table)
	if err != nil {
		return nil, fmt.Errorf("zenkeyload: reading the app's PostgreSQL store: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("zenkeyload: reading the app's PostgreSQL store: %w", err)
	}
	return setOf(list), nil
}

func (r *pgReader) kinds(ctx context.Context, keys []string) (int, int, error) {
	return countKinds(keys, func(key string) (bool, error) {
		var session bool
		err := r.pool.QueryRow(ctx, "SELECT subject <> '' FROM "+r.table+" WHERE key = $1",
			key).Scan(&session)
		if errors.Is(err, pgx.ErrNoRows) {
			err = sql.ErrNoRows
		}
		return session, err
	})
}

func (r *pgReader) close() { r.pool.Close() }

// redisReader reads the app's records in Redis: one hash each, under the
// prefix, whose field s holds the subject (see redisstore's doc).
type redisReader struct {
	client *redis.Client
	prefix string
}

func (r *redisReader) keys(ctx context.Context) (map[string]bool, error) {
	list, err := scanKeys(ctx, r.client, r.prefix+":{*")
	if err != nil {
		return nil, fmt.Errorf("zenkeyload: reading the app's Redis store: %w", err)
	}
	return setOf(list), nil
}

func (r *redisReader) kinds(ctx context.Context, keys []string) (int, int, error) {
	return countKinds(keys, func(key string) (bool, error) {
		subject, err := r.client.HGet(ctx, key, "s").Result()
		if errors.Is(err, redis.Nil) {
			err = sql.ErrNoRows
		}
		return subject != "", err
	})
}

func (r *redisReader) close() { r.client.Close() }

// setOf returns the keys in list as a set.
func setOf(list []string) map[string]bool {
	keys := make(map[string]bool, len(list))
	for _, k := range list {
		keys[k] = true
	}
	return keys
}

// countKinds counts the sessions and the pending logins among keys; read
// says whether a key's record is a session, or sql.ErrNoRows when it is
// gone.
func countKinds(keys []string, read func(key string) (bool, error)) (sessions, logins int,
	err error) {
	for _, k := range keys {
		session, err := read(k)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return sessions, logins, fmt.Errorf("zenkeyload: reading a record the run left: %w",
				err)
		case session:
			sessions++
		default:
			logins++
		}
	}
	return sessions, logins, nil
}
