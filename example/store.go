package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/pgstore"
	"github.com/zenkey-go/zenkey/redisstore"
	"github.com/zenkey-go/zenkey/sqlitestore"
)

// The kinds of store ZENKEY_STORE chooses from.
const (
	storeMemory   = "memory"
	storeSQLite   = "sqlite"
	storeRedis    = "redis"
	storePostgres = "postgres"
)

// connectTimeout bounds the first contact with a Redis or PostgreSQL
// server, so that a wrong address fails at start rather than at login.
const connectTimeout = 5 * time.Second

// A storeSpec is a parsed ZENKEY_STORE: the kind of store, and its file
// path or server URL.
type storeSpec struct {
	kind   string
	target string
}

// parseStore parses ZENKEY_STORE: memory, sqlite:PATH, redis://...,
// rediss://..., postgres://... or postgresql://....
func parseStore(s string) (storeSpec, error) {
	scheme, _, _ := strings.Cut(s, ":")
	switch {
	case s == storeMemory:
		return storeSpec{kind: storeMemory}, nil
	case scheme == "sqlite" && len(s) > len("sqlite:"):
		return storeSpec{storeSQLite, strings.TrimPrefix(s, "sqlite:")}, nil
	case (scheme == "redis" || scheme == "rediss") && strings.HasPrefix(s, scheme+"://"):
		return storeSpec{storeRedis, s}, nil
	case (scheme == "postgres" || scheme == "postgresql") && strings.HasPrefix(s, scheme+"://"):
		return storeSpec{storePostgres, s}, nil
	}
	return storeSpec{}, errors.New("example: ZENKEY_STORE must be memory, sqlite:PATH, " +
		"redis://HOST:PORT/DB or postgres://USER@HOST/DB")
}

// String describes the store for the app's output: a server's URL without
// its user, password or query, which may carry credentials.
func (s storeSpec) String() string {
	switch s.kind {
	case storeMemory:
		return "memory (sessions end with the process)"
	case storeSQLite:
		return "sqlite:" + s.target
	}
	u, err := url.Parse(s.target)
	if err != nil {
		return s.kind
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// An openStore is a store with what closes it and the connections it uses.
type openStore struct {
	zenkey.Store
	close func() error
}

// open opens the store s describes. Redis and PostgreSQL are contacted once,
// so that the app does not start against a server it cannot reach.
func (s storeSpec) open(ctx context.Context) (*openStore, error) {
	switch s.kind {
	case storeMemory:
		m := zenkey.NewMemoryStore()
		return &openStore{m, m.Close}, nil
	case storeSQLite:
		db, err := sqlitestore.Open(s.target)
		if err != nil {
			return nil, err
		}
		return &openStore{db, db.Close}, nil
	case storeRedis:
		return openRedis(ctx, s.target)
	case storePostgres:
		return openPostgres(ctx, s.target)
	}
	return nil, fmt.Errorf("example: unknown store kind %q", s.kind)
}

// openRedis connects to the Redis server at the URL, in go-redis's form.
func openRedis(ctx context.Context, rawURL string) (*openStore, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("example: ZENKEY_STORE: %w", err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("example: Redis at %s does not answer: %w", opts.Addr, err)
	}
	store, err := redisstore.New(client, redisstore.Options{})
	if err != nil {
		client.Close()
		return nil, err
	}
	return &openStore{store, client.Close}, nil
}

// openPostgres connects to the PostgreSQL server at the URL, in pgx's form,
// and creates the sessions table there when it is missing.
func openPostgres(ctx context.Context, rawURL string) (*openStore, error) {
	pool, err := pgxpool.New(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("example: ZENKEY_STORE: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("example: PostgreSQL does not answer: %w", err)
	}
	store, err := pgstore.New(ctx, pool, pgstore.Options{})
	if err != nil {
		pool.Close()
		return nil, err
	}
	closeAll := func() error {
		store.Close()
		pool.Close()
		return nil
	}
	return &openStore{store, closeAll}, nil
}
