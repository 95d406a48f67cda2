package redisstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/zenkey-go/zenkey"
)

// testKey is the key of the records these tests pack.
const testKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// packedRecord returns a record with every field set, times in a zone other
// than UTC and with nanoseconds, and its packed value.
func packedRecord() (*zenkey.Record, []byte) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.FixedZone("UTC+5:45", 20700))
	r := &zenkey.Record{
		Key:              testKey,
		Version:          7,
		Created:          now.Add(-time.Minute),
		LastSeen:         now,
		IdleDeadline:     now.Add(time.Hour),
		AbsoluteDeadline: now.Add(24 * time.Hour),
		LeaseUntil:       now.Add(time.Second),
		Subject:          strings.Repeat("5", 64),
		SID:              strings.Repeat("d", 64),
		Blob:             bytes.Repeat([]byte{0xb1}, 300),
	}
	return r, pack(r, r.Version)
}

// equal reports whether two records hold the same values, times compared
// as instants.
func equal(a, b *zenkey.Record) bool {
	return a.Key == b.Key && a.Version == b.Version &&
		a.Created.Equal(b.Created) && a.LastSeen.Equal(b.LastSeen) &&
		a.IdleDeadline.Equal(b.IdleDeadline) && a.AbsoluteDeadline.Equal(b.AbsoluteDeadline) &&
		a.LeaseUntil.Equal(b.LeaseUntil) && a.Subject == b.Subject && a.SID == b.SID &&
		bytes.Equal(a.Blob, b.Blob)
}

func TestPackRoundTrip(t *testing.T) {
	full, _ := packedRecord()
	tests := []struct {
		name string
		r    *zenkey.Record
	}{
		{"full", full},
		{"empty", &zenkey.Record{Key: testKey}},
		{"no subject", &zenkey.Record{Key: testKey, Version: 1, SID: "d", Blob: []byte{1}}},
		{"no blob", &zenkey.Record{Key: testKey, Version: math.MaxUint64, Subject: "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := unpack(testKey, pack(tt.r, tt.r.Version))
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tt.r) {
				t.Errorf("unpack(pack(r)) = %+v, want %+v", got, tt.r)
			}
			if !got.Created.IsZero() && got.Created.Location() != time.UTC {
				t.Errorf("Created in %v, want UTC", got.Created.Location())
			}
		})
	}
}

// TestUnpackMalformed checks that a damaged value gives a clear error: not
// a record, not a panic, not ErrNotFound (which would hide the damage).
func TestUnpackMalformed(t *testing.T) {
	_, p := packedRecord()
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(p)) }
	lengths := packHeader - 3*8
	tests := []struct {
		name  string
		value []byte
		want  string
	}{
		{"empty", nil, "packed value of 0 bytes"},
		{"header cut short", p[:packHeader-1], "want at least"},
		{"unknown format", edit(func(b []byte) []byte { b[0] = 2; return b }), "format 2"},
		{"blob cut short", p[:len(p)-1], "do not add up"},
		{"a byte too many", append(bytes.Clone(p), 0), "do not add up"},
		{"only the header", p[:packHeader], "do not add up"},
		{"huge subject", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[lengths:], math.MaxUint64)
			return b
		}), "do not add up"},
		{"lengths that wrap", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[lengths:], 1<<63)
			binary.BigEndian.PutUint64(b[lengths+8:], 1<<63)
			return b
		}), "do not add up"},
		{"bad nanoseconds", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[1+8+8:], uint32(time.Second))
			return b
		}), "packed time 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := unpack(testKey, tt.value)
			if r != nil || err == nil {
				t.Fatalf("unpack = %+v, %v; want an error", r, err)
			}
			if errors.Is(err, zenkey.ErrNotFound) {
				t.Errorf("unpack: %v, want an error other than ErrNotFound", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "zenkey/redisstore: record "+testKey) ||
				!strings.Contains(msg, tt.want) {
				t.Errorf("unpack: %q, want it to name the record and say %q", msg, tt.want)
			}
		})
	}
}

// TestUnpackAllocs checks that unpacking allocates the record and one
// string for Subject and SID, and copies no Blob.
func TestUnpackAllocs(t *testing.T) {
	_, p := packedRecord()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := unpack(testKey, p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Errorf("unpack makes %v allocations, want at most 2", allocs)
	}
}

// FuzzUnpack checks that unpack never panics, and accepts exactly the
// values pack makes: whatever it accepts packs back to the same bytes.
func FuzzUnpack(f *testing.F) {
	_, p := packedRecord()
	f.Add(p)
	f.Add(p[:packHeader])
	f.Add(pack(&zenkey.Record{}, 1))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, value []byte) {
		r, err := unpack(testKey, bytes.Clone(value))
		if err != nil {
			if r != nil || !strings.HasPrefix(err.Error(), "zenkey/redisstore: ") {
				t.Fatalf("unpack = %v, %v; want nil and a package error", r, err)
			}
			return
		}
		if again := pack(r, r.Version); !bytes.Equal(again, value) {
			t.Fatalf("unpack accepted %x, which packs back as %x", value, again)
		}
	})
}
