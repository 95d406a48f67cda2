package zenkey_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/pgstore"
	"github.com/zenkey-go/zenkey/redisstore"
	"github.com/zenkey-go/zenkey/sqlitestore"
)

// A storeKind opens stores of one kind. Two stores from the same opener
// share their data, like two app instances sharing a database.
type storeKind struct {
	name string
	open func(t testing.TB) func() zenkey.Store
}

// storeKinds lists every store. Redis and PostgreSQL need their servers'
// addresses in ZENKEY_TEST_REDIS_ADDR and ZENKEY_TEST_POSTGRES_URL (CI sets
// both); without them their cases skip.
func storeKinds() []storeKind {
	return []storeKind{
		{"memory", func(t testing.TB) func() zenkey.Store {
			s := zenkey.NewMemoryStore()
			t.Cleanup(func() { s.Close() })
			return func() zenkey.Store { return s }
		}},
		{"sqlite", openSQLite},
		{"redis", openRedis},
		{"postgres", openPostgres},
	}
}

func openSQLite(t testing.TB) func() zenkey.Store {
	dir := filepath.Join(t.TempDir(), "private")
	path := filepath.Join(dir, "sessions.db")
	return func() zenkey.Store {
		s, err := sqlitestore.Open(path)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func openRedis(t testing.TB) func() zenkey.Store {
	addr := os.Getenv("ZENKEY_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("ZENKEY_TEST_REDIS_ADDR is not set (e.g. 127.0.0.1:6379): skipping the Redis store")
	}
	prefix := "zenkey-test-" + randomSuffix()
	return func() zenkey.Store {
		// Pools sized for the thousand-request tests, which measure the
		// middleware, not a client's default pool.
		c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64,
			PoolTimeout: 30 * time.Second})
		t.Cleanup(func() { c.Close() })
		s, err := redisstore.New(c, redisstore.Options{Prefix: prefix})
		require.NoError(t, err)
		return s
	}
}

func openPostgres(t testing.TB) func() zenkey.Store {
	url := os.Getenv("ZENKEY_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("ZENKEY_TEST_POSTGRES_URL is not set (e.g. " +
			"postgres://postgres@127.0.0.1:5432/test): skipping the PostgreSQL store")
	}
	table := "zenkey_test_" + randomSuffix()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
		pool.Close()
	})
	return func() zenkey.Store {
		s, err := pgstore.New(ctx, pool, pgstore.Options{Table: table})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
