package storetest

import (
	"testing"
	"time"

	"github.com/zenkey-go/zenkey"
)

// expiryWait is how far ahead the expiry test sets the deadlines it waits
// for: long enough to see the records live first, even when a store keeps
// its deadlines in whole seconds.
const expiryWait = 1500 * time.Millisecond

func testExpiry(t *testing.T, s zenkey.Store) {
	t.Run("CreatedEnded", testCreatedEnded(s))

	// Each case creates a record with a deadline that passes soon, and may
	// update it before it does.
	soon := time.Now().Add(expiryWait)
	tests := []struct {
		name string
		edit func(r *zenkey.Record)
		keep func(t *testing.T, r *zenkey.Record)
		live bool
	}{
		{name: "IdleDeadlinePasses", edit: func(r *zenkey.Record) { r.IdleDeadline = soon }},
		{name: "AbsoluteDeadlinePasses",
			edit: func(r *zenkey.Record) { r.AbsoluteDeadline = soon }},
		{
			name: "IdleDeadlineMoved",
			edit: func(r *zenkey.Record) { r.IdleDeadline = soon },
			keep: func(t *testing.T, r *zenkey.Record) {
				r.IdleDeadline = time.Now().Add(time.Hour)
				if err := s.Update(t.Context(), r); err != nil {
					t.Fatalf("Update of a live record: %v", err)
				}
			},
			live: true,
		},
	}
	records := make([]*zenkey.Record, len(tests))
	for i, tt := range tests {
		r := newRecord()
		tt.edit(r)
		mustCreate(t, s, r)
		records[i] = mustGet(t, s, r.Key)
		if tt.keep != nil {
			tt.keep(t, records[i])
		}
	}
	if time.Now().After(soon) {
		t.Fatalf("creating %d records took more than %v", len(tests), expiryWait)
	}
	time.Sleep(time.Until(soon.Add(250 * time.Millisecond)))

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := records[i]
			if tt.live {
				wantStored(t, s, r)
				r.LastSeen = time.Now()
				if err := s.Update(t.Context(), r); err != nil {
					t.Errorf("Update of a live record: %v", err)
				}
				return
			}
			wantEnded(t, s, r)
		})
	}
}

// testCreatedEnded checks records whose deadline had passed when they were
// created: Create may store them, but they are never seen.
func testCreatedEnded(s zenkey.Store) func(t *testing.T) {
	return func(t *testing.T) {
		past := time.Now().Add(-time.Minute)
		tests := []struct {
			name string
			edit func(r *zenkey.Record)
		}{
			{"Idle", func(r *zenkey.Record) { r.IdleDeadline = past }},
			{"Absolute", func(r *zenkey.Record) { r.AbsoluteDeadline = past }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := newRecord()
				tt.edit(r)
				mustCreate(t, s, r)
				wantEnded(t, s, r)
			})
		}
	}
}

// wantEnded checks that the record r, read while it was live or just
// created, can neither be read nor revived by an Update that extends it.
func wantEnded(t *testing.T, s zenkey.Store, r *zenkey.Record) {
	t.Helper()
	wantGone(t, s, r.Key)
	r.IdleDeadline = time.Now().Add(time.Hour)
	r.AbsoluteDeadline = r.IdleDeadline
	wantErr(t, "Update of an ended record", s.Update(t.Context(), r), zenkey.ErrConflict)
	wantGone(t, s, r.Key)
}
