package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
)

func TestParseStore(t *testing.T) {
	tests := []struct {
		in   string
		want storeSpec
	}{
		{"memory", storeSpec{kind: storeMemory}},
		{"sqlite:zenkey.db", storeSpec{storeSQLite, "zenkey.db"}},
		{"sqlite:/var/lib/app/zenkey.db", storeSpec{storeSQLite, "/var/lib/app/zenkey.db"}},
		{"redis://localhost:6379/0", storeSpec{storeRedis, "redis://localhost:6379/0"}},
		{"rediss://:pw@cache:6380", storeSpec{storeRedis, "rediss://:pw@cache:6380"}},
		{"postgres://app@db/app", storeSpec{storePostgres, "postgres://app@db/app"}},
		{"postgresql://app@db/app", storeSpec{storePostgres, "postgresql://app@db/app"}},
	}
	for _, tt := range tests {
		got, err := parseStore(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	bad := []string{"", "Memory", "sqlite:", "sqlite", "redis:localhost", "mysql://db",
		"postgres:db"}
	for _, bad := range bad {
		_, err := parseStore(bad)
		assert.ErrorContains(t, err, "ZENKEY_STORE must be", bad)
	}
}

func TestStoreDescriptionHidesCredentials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://:hunter2@cache:6379/2", "redis://cache:6379/2"},
		{"postgres://app:hunter2@db:5432/app?sslmode=disable&password=hunter2",
			"postgres://db:5432/app"},
		{"sqlite:zenkey.db", "sqlite:zenkey.db"},
	}
	for _, tt := range tests {
		s, err := parseStore(tt.in)
		require.NoError(t, err)
		assert.Equal(t, tt.want, s.String())
	}
}

func TestOpenMemoryStore(t *testing.T) {
	roundTrip(t, "memory")
}

func TestOpenSQLiteStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db", "sessions.db")
	roundTrip(t, "sqlite:"+path)
	assertMode(t, path, 0o600)
	assertMode(t, filepath.Dir(path), 0o700)
}

func TestOpenSQLiteStoreRefusesASharedDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	spec, err := parseStore("sqlite:" + filepath.Join(dir, "sessions.db"))
	require.NoError(t, err)
	_, err = spec.open(t.Context())
	assert.ErrorContains(t, err, "chmod 700")
}

func TestOpenRedisStore(t *testing.T) {
	addr := os.Getenv("ZENKEY_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("ZENKEY_TEST_REDIS_ADDR is unset: no Redis to test against")
	}
	roundTrip(t, "redis://"+addr+"/0")
}

func TestOpenPostgresStore(t *testing.T) {
	url := os.Getenv("ZENKEY_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("ZENKEY_TEST_POSTGRES_URL is unset: no PostgreSQL to test against")
	}
	roundTrip(t, url)
}

func TestOpenUnreachableServerFailsAtStart(t *testing.T) {
	for _, s := range []string{
		"redis://127.0.0.1:1/0",
		"postgres://app@127.0.0.1:1/app?sslmode=disable&connect_timeout=2",
	} {
		spec, err := parseStore(s)
		require.NoError(t, err)
		_, err = spec.open(t.Context())
		assert.ErrorContains(t, err, "does not answer", s)
	}
}

// roundTrip opens the store ZENKEY_STORE s names, and creates, reads and
// deletes a record in it.
func roundTrip(t *testing.T, s string) {
	t.Helper()
	spec, err := parseStore(s)
	require.NoError(t, err)
	store, err := spec.open(t.Context())
	require.NoError(t, err)
	defer func() { assert.NoError(t, store.close()) }()

	ctx, now := context.Background(), time.Now()
	id := make([]byte, 32)
	rand.Read(id)
	rec := &zenkey.Record{
		Key:              hex.EncodeToString(id),
		Created:          now,
		LastSeen:         now,
		IdleDeadline:     now.Add(time.Minute),
		AbsoluteDeadline: now.Add(time.Hour),
		Blob:             []byte("ciphertext"),
	}
	require.NoError(t, store.Create(ctx, rec))
	got, err := store.Get(ctx, rec.Key)
	require.NoError(t, err)
	assert.Equal(t, rec.Blob, got.Blob)
	require.NoError(t, store.Delete(ctx, rec.Key))
	_, err = store.Get(ctx, rec.Key)
	assert.ErrorIs(t, err, zenkey.ErrNotFound)
}
