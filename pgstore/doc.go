// Package pgstore keeps zenkey session records in PostgreSQL, so that
// several app instances share their sessions. It uses pgx through a
// [pgxpool.Pool] that the app owns.
//
// # Schema
//
// The records live in one table, "zenkey_sessions" by default, that [New]
// creates (or brings up to date) in the pool's search path:
//
//	key                text PRIMARY KEY   the record's key
//	version            bigint             the compare-and-swap version
//	created            timestamptz
//	last_seen          timestamptz
//	idle_deadline      timestamptz
//	absolute_deadline  timestamptz
//	subject            text               indexed where not empty
//	sid                text               indexed where not empty
//	lease_until        timestamptz
//	blob               bytea              ciphertext
//
// plus an index on the record's end, least(idle_deadline, absolute_deadline),
// for the sweeper. The table's comment records its schema version ("zenkey
// schema 1"); [Store.Migrate] applies the missing steps under an advisory
// lock, so instances that start together do not race. Times are kept to the
// microsecond, PostgreSQL's precision.
//
// Every write is one statement: Create inserts unless the key exists, Update
// changes the row only where both the key and the version match and the
// record is live. PostgreSQL's row locks make concurrent updates of one
// version line up, and all but the first find the version changed.
//
// # Clocks
//
// The app's clock decides whether a record is live: each statement gets
// [time.Now] as a parameter rather than using the database's now(). That is
// the clock the rest of zenkey judges a session by; keep the clocks of
// several app instances in sync. Ended records are invisible at once, and a
// sweeper deletes them in small batches.
//
// # Example
//
//	pool, err := pgxpool.New(ctx, "postgres://app@db.internal/app")
//	if err != nil {
//		log.Fatal(err)
//	}
//	store, err := pgstore.New(ctx, pool, pgstore.Options{})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer store.Close()
//	mw, err := zenkey.New(zenkey.Options{ /* ... */ Store: store})
package pgstore
