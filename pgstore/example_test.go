package pgstore_test

import (
	"context"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/pgstore"
)

func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	// New creates the table zenkey_sessions, or brings it up to date.
	store, err := pgstore.New(ctx, pool, pgstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	var opts zenkey.Options
	opts.Store = store // and the app's credentials: see zenkey.Options
}
