package storetest

import (
	"testing"

	"github.com/zenkey-go/zenkey"
)

// sessionBlob is the size of a real session's blob, tokens and claims
// sealed: what every benchmarked record carries.
const sessionBlob = 1400

// Benchmark measures each operation of s alone, on records the size of a
// real session's: Create of a new record, Get and Update (compare and
// swap) of one record, and Delete of a record that exists. Call it from a
// benchmark of the store's own package:
//
//	func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, open(b)) }
func Benchmark(b *testing.B, s zenkey.Store) {
	b.Run("Create", func(b *testing.B) {
		records := make([]*zenkey.Record, b.N)
		for i := range records {
			records[i] = benchRecord()
		}
		b.ReportAllocs()
		b.ResetTimer()
		for _, r := range records {
			if err := s.Create(b.Context(), r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		r := benchCreate(b, s)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Get(b.Context(), r.Key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Update", func(b *testing.B) {
		r := benchCreate(b, s)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Update(b.Context(), r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Delete", func(b *testing.B) {
		keys := make([]string, b.N)
		for i := range keys {
			keys[i] = benchCreate(b, s).Key
		}
		b.ReportAllocs()
		b.ResetTimer()
		for _, key := range keys {
			if err := s.Delete(b.Context(), key); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchRecord returns a new record of a session's size.
func benchRecord() *zenkey.Record {
	r := newRecord()
	r.Blob = randomBytes(sessionBlob)
	return r
}

// benchCreate stores a new record of a session's size and returns it.
func benchCreate(b *testing.B, s zenkey.Store) *zenkey.Record {
	r := benchRecord()
	if err := s.Create(b.Context(), r); err != nil {
		b.Fatal(err)
	}
	return r
}
