package zenkey

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by [Store.Get] when no live record has the key:
// it never existed, it was deleted, or one of its deadlines has passed.
var ErrNotFound = errors.New("zenkey: session not found")

// ErrConflict is returned by [Store.Create] when the key is already taken and
// by [Store.Update] when the record changed since it was read or no longer
// exists. It is what stops a request that was in flight during a logout from
// writing the destroyed session back.
var ErrConflict = errors.New("zenkey: session changed or gone")

// A Record is what a [Store] keeps for one session or one pending login.
//
// The store sees no secret: Key is a hash of the session id, Subject and SID
// are keyed hashes, and Blob is ciphertext bound to Key. A store copies
// records in and out; it never interprets Blob.
//
// Times are kept to the millisecond at least; the zero time comes back
// zero. Whether a record is live is decided by the clock of the process
// calling the store.
type Record struct {
	// Key identifies the record: 64 lowercase hex characters, the SHA-256
	// of the session id. The id itself never reaches a store.
	Key string

	// Version is set by the store: 1 on Create, one more on every Update.
	Version uint64

	// Created and LastSeen are informational; the store keeps them as given.
	Created  time.Time
	LastSeen time.Time

	// IdleDeadline and AbsoluteDeadline end the record: once the earlier of
	// the two has passed, Get reports ErrNotFound and Update ErrConflict,
	// whether or not a sweeper has removed the record yet.
	IdleDeadline     time.Time
	AbsoluteDeadline time.Time

	// Subject is a keyed hash of the user's subject (hex), or empty. It
	// indexes the record for DeleteSubject ("log out everywhere").
	Subject string

	// SID is a keyed hash of the provider's issuer and session id (hex), or
	// empty. It indexes the record for DeleteSID (back-channel logout).
	SID string

	// LeaseUntil, when in the future, means one caller is refreshing the
	// session's tokens. It is taken and released with Update like any other
	// field, so at most one caller across all app instances holds it.
	LeaseUntil time.Time

	// Blob is the encrypted session: tokens and claims.
	Blob []byte
}

// Expires reports when the record ends: the earlier of its two deadlines.
func (r *Record) Expires() time.Time {
	if r.IdleDeadline.Before(r.AbsoluteDeadline) {
		return r.IdleDeadline
	}
	return r.AbsoluteDeadline
}

// Live reports whether the record has not yet ended at now.
func (r *Record) Live(now time.Time) bool {
	return now.Before(r.Expires())
}

// A Store keeps session records for the middleware. Implementations must be
// safe for concurrent use, also across processes when the store is shared by
// several app instances.
//
// Nothing upserts: Create only inserts a new key and Update only replaces
// the exact version that was read. That compare-and-swap is what makes a
// logout final. The package [github.com/zenkey-go/zenkey/storetest] checks
// all of this for any implementation.
type Store interface {
	// Create inserts r, which must carry a key no record has. It sets
	// r.Version to 1. If the key is taken, live or not yet swept, it
	// returns ErrConflict and changes nothing.
	Create(ctx context.Context, r *Record) error

	// Get returns a copy of the live record with the key. A missing
	// record, or one whose deadline has passed, is ErrNotFound. The copy's
	// Blob may share memory with the store: callers replace a Blob, they
	// never change one in place.
	Get(ctx context.Context, key string) (*Record, error)

	// Update replaces the stored record with r if, and only if, the stored
	// record is live and its version equals r.Version. On success it sets
	// r.Version to the new version (one more). Otherwise it returns
	// ErrConflict and changes nothing: a missing record is never created.
	Update(ctx context.Context, r *Record) error

	// Delete removes the record with the key. Deleting a missing record
	// succeeds. An error means the store could not confirm the deletion.
	Delete(ctx context.Context, key string) error

	// DeleteSubject removes every record whose Subject equals subject and
	// reports how many live ones it removed: records that had already
	// ended go too, uncounted.
	DeleteSubject(ctx context.Context, subject string) (int, error)

	// DeleteSID removes every record whose SID equals sid and reports how
	// many live ones it removed, as DeleteSubject does.
	DeleteSID(ctx context.Context, sid string) (int, error)
}
