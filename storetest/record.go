package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zenkey-go/zenkey"
)

// zone is where the suite's times are set: not UTC and not a whole hour
// away from it, so a store that drops or assumes a location shows it.
var zone = time.FixedZone("UTC+5:45", 5*3600+45*60)

// randomHex returns 64 random lowercase hex characters, the shape of a
// record key and of the keyed hashes in Subject and SID.
func randomHex() string {
	return hex.EncodeToString(randomBytes(32))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// newRecord returns a live record with a fresh key, random index values and
// a random blob. Its times carry sub-millisecond parts, a zone other than
// UTC, and no monotonic clock reading; LeaseUntil is zero.
func newRecord() *zenkey.Record {
	now := time.Now().In(zone).Truncate(time.Millisecond).Add(654321 * time.Nanosecond)
	return &zenkey.Record{
		Key:              randomHex(),
		Created:          now.Add(-time.Minute),
		LastSeen:         now,
		IdleDeadline:     now.Add(time.Hour),
		AbsoluteDeadline: now.Add(24 * time.Hour),
		Subject:          randomHex(),
		SID:              randomHex(),
		Blob:             randomBytes(300),
	}
}

// clone returns a deep copy of r, so that a test can keep what it wrote
// apart from what a store might still point at.
func clone(r *zenkey.Record) *zenkey.Record {
	c := *r
	c.Blob = bytes.Clone(r.Blob)
	return &c
}

func mustCreate(t *testing.T, s zenkey.Store, r *zenkey.Record) {
	t.Helper()
	if err := s.Create(t.Context(), r); err != nil {
		t.Fatalf("Create: %v", err)
	}
}

func mustGet(t *testing.T, s zenkey.Store, key string) *zenkey.Record {
	t.Helper()
	got, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return got
}

// wantStored fails the test unless the store holds a live record equal to
// want.
func wantStored(t *testing.T, s zenkey.Store, want *zenkey.Record) {
	t.Helper()
	if d := diff(want, mustGet(t, s, want.Key)); d != "" {
		t.Errorf("stored record differs from what was written:\n%s", d)
	}
}

// wantGone fails the test unless Get reports ErrNotFound for key.
func wantGone(t *testing.T, s zenkey.Store, key string) {
	t.Helper()
	if err := getErr(t.Context(), s, key); err != nil {
		t.Error(err)
	}
}

// getErr reports why Get of key did not return ErrNotFound, or nil if it
// did. Goroutines other than the test's use it, as they may not stop the
// test.
func getErr(ctx context.Context, s zenkey.Store, key string) error {
	r, err := s.Get(ctx, key)
	switch {
	case errors.Is(err, zenkey.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("Get: %v, want ErrNotFound", err)
	default:
		return fmt.Errorf("Get returned version %d, want ErrNotFound", r.Version)
	}
}

// wantErr fails the test unless err is target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

// diff describes how got differs from want, or returns "" if they are
// equal. Times are equal when they are less than a millisecond apart: a
// store keeps at least milliseconds, in any location.
func diff(want, got *zenkey.Record) string {
	var b strings.Builder
	field := func(name string, w, g any) {
		fmt.Fprintf(&b, "\t%s: got %v, want %v\n", name, g, w)
	}
	if got.Key != want.Key {
		field("Key", want.Key, got.Key)
	}
	if got.Version != want.Version {
		field("Version", want.Version, got.Version)
	}
	times := []struct {
		name      string
		want, got time.Time
	}{
		{"Created", want.Created, got.Created},
		{"LastSeen", want.LastSeen, got.LastSeen},
		{"IdleDeadline", want.IdleDeadline, got.IdleDeadline},
		{"AbsoluteDeadline", want.AbsoluteDeadline, got.AbsoluteDeadline},
		{"LeaseUntil", want.LeaseUntil, got.LeaseUntil},
	}
	for _, tt := range times {
		if d := tt.got.Sub(tt.want); d <= -time.Millisecond || d >= time.Millisecond {
			field(tt.name, tt.want, tt.got)
		}
	}
	if got.Subject != want.Subject {
		field("Subject", want.Subject, got.Subject)
	}
	if got.SID != want.SID {
		field("SID", want.SID, got.SID)
	}
	if !bytes.Equal(got.Blob, want.Blob) {
		field("Blob", fmt.Sprintf("%d bytes %.8x…", len(want.Blob), want.Blob),
			fmt.Sprintf("%d bytes %.8x…", len(got.Blob), got.Blob))
	}
	return b.String()
}
