package storetest

import (
	"testing"
	"time"

	"github.com/zenkey-go/zenkey"
)

func testCreate(t *testing.T, s zenkey.Store) {
	tests := []struct {
		name string
		edit func(r *zenkey.Record)
	}{
		{"AllFields", func(r *zenkey.Record) { r.LeaseUntil = r.LastSeen.Add(time.Minute) }},
		{"EmptyFields", func(r *zenkey.Record) {
			r.LastSeen, r.Subject, r.SID, r.Blob = time.Time{}, "", "", nil
		}},
		{"UTC", func(r *zenkey.Record) {
			r.Created, r.LastSeen = r.Created.UTC(), r.LastSeen.UTC()
			r.IdleDeadline, r.AbsoluteDeadline = r.IdleDeadline.UTC(), r.AbsoluteDeadline.UTC()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecord()
			tt.edit(r)
			want := clone(r)
			want.Version = 1
			mustCreate(t, s, r)
			if r.Version != 1 {
				t.Errorf("Create set Version %d, want 1", r.Version)
			}
			wantStored(t, s, want)
		})
	}

	t.Run("Copies", func(t *testing.T) {
		r := newRecord()
		want := clone(r)
		want.Version = 1
		mustCreate(t, s, r)

		// The record given to Create still belongs to the caller.
		r.Blob[0] ^= 0xff
		r.Subject, r.IdleDeadline = randomHex(), time.Time{}

		// So does the record Get returns, except its Blob, which callers
		// replace rather than change.
		got := mustGet(t, s, r.Key)
		got.Blob = []byte("replaced")
		got.Version, got.SID = 7, ""

		wantStored(t, s, want)
	})

	t.Run("Missing", func(t *testing.T) {
		wantGone(t, s, randomHex())
	})
}

func testCreateTaken(t *testing.T, s zenkey.Store) {
	first := newRecord()
	mustCreate(t, s, first)
	want := clone(first)

	second := newRecord()
	second.Key = first.Key
	wantErr(t, "Create with a taken key", s.Create(t.Context(), second), zenkey.ErrConflict)
	wantStored(t, s, want)

	// Nothing of the second record was filed either.
	n, err := s.DeleteSubject(t.Context(), second.Subject)
	if err != nil || n != 0 {
		t.Errorf("DeleteSubject of the refused record's subject = %d, %v; want 0, nil", n, err)
	}
}

func testUpdate(t *testing.T, s zenkey.Store) {
	t.Run("ReadVersion", func(t *testing.T) {
		r := newRecord()
		mustCreate(t, s, r)
		for want := uint64(2); want <= 3; want++ {
			got := mustGet(t, s, r.Key)
			got.LastSeen = got.LastSeen.Add(time.Second)
			got.IdleDeadline = got.IdleDeadline.Add(30 * time.Minute)
			got.LeaseUntil = got.LastSeen.Add(10 * time.Second)
			got.Subject, got.SID, got.Blob = randomHex(), randomHex(), randomBytes(500)
			if err := s.Update(t.Context(), got); err != nil {
				t.Fatalf("Update with the version read: %v", err)
			}
			if got.Version != want {
				t.Errorf("Update set Version %d, want %d", got.Version, want)
			}
			stored := clone(got)
			got.Blob[0] ^= 0xff // the caller's again after Update
			wantStored(t, s, stored)
		}
	})

	// Each case stores a record, or not, and returns a write that must fail
	// and the record that must stay stored (nil when none may be).
	tests := []struct {
		name    string
		prepare func(t *testing.T) (write, stays *zenkey.Record)
	}{
		{"StaleVersion", func(t *testing.T) (write, stays *zenkey.Record) {
			r := newRecord()
			mustCreate(t, s, r)
			write = mustGet(t, s, r.Key)
			newer := clone(write)
			if err := s.Update(t.Context(), newer); err != nil {
				t.Fatalf("Update: %v", err)
			}
			return write, newer
		}},
		{"LaterVersion", func(t *testing.T) (write, stays *zenkey.Record) {
			r := newRecord()
			mustCreate(t, s, r)
			stays = clone(r)
			r.Version++
			return r, stays
		}},
		{"Missing", func(t *testing.T) (write, stays *zenkey.Record) {
			r := newRecord()
			r.Version = 1
			return r, nil
		}},
		{"Deleted", func(t *testing.T) (write, stays *zenkey.Record) {
			r := newRecord()
			mustCreate(t, s, r)
			if err := s.Delete(t.Context(), r.Key); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			return r, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write, stays := tt.prepare(t)
			version := write.Version
			write.Blob, write.IdleDeadline = randomBytes(10), write.IdleDeadline.Add(time.Hour)
			wantErr(t, "Update", s.Update(t.Context(), write), zenkey.ErrConflict)
			if write.Version != version {
				t.Errorf("failed Update changed Version from %d to %d", version, write.Version)
			}
			if stays == nil {
				wantGone(t, s, write.Key)
				return
			}
			wantStored(t, s, stays)
		})
	}
}

func testDelete(t *testing.T, s zenkey.Store) {
	ctx := t.Context()
	if err := s.Delete(ctx, randomHex()); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}

	r, other := newRecord(), newRecord()
	mustCreate(t, s, r)
	mustCreate(t, s, other)
	for range 2 {
		if err := s.Delete(ctx, r.Key); err != nil {
			t.Errorf("Delete: %v", err)
		}
		wantGone(t, s, r.Key)
	}
	wantStored(t, s, other)
}
