package redisstore

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/zenkey-go/zenkey"
)

// The hash of a record holds the whole record packed in field r, the only
// field Get reads: one bulk string to send, parse and decode. The scripts
// cannot read a packed value cheaply, so the hash also keeps the few
// fields they compare, written by the same HSET as r and so always in
// agreement with it: v (the version) and x (the end, Unix ms) for
// updateScript, s (the subject), d (the sid) and x for deleteIfScript.

// packedField is the hash field that holds the packed record.
const packedField = "r"

// packFormat is the first byte of every packed value. A value that starts
// with another byte was written by a layout this package does not know,
// and is refused rather than misread.
const packFormat = 1

// timeSize is the size of one packed time; see appendTime.
const timeSize = 12

// packHeader is the size of a packed value before its variable parts: the
// format, the version, five times and three lengths.
const packHeader = 1 + 8 + 5*timeSize + 3*8

// fields returns r as the field, value pairs of its hash, with version.
// Fields v and r take the version from this one argument, so that they
// agree: the scripts compare v, Get reads r.
func fields(r *zenkey.Record, version uint64) []any {
	return []any{
		"v", version,
		"x", r.Expires().UnixMilli(),
		"s", r.Subject,
		"d", r.SID,
		packedField, pack(r, version),
	}
}

// pack returns r with version as one value, integers big endian:
//
//	format   1 byte, packFormat
//	version  8 bytes
//	times    5 × 12 bytes: Created, LastSeen, IdleDeadline,
//	         AbsoluteDeadline, LeaseUntil
//	lengths  3 × 8 bytes: of Subject, SID and Blob
//	Subject, SID and Blob, one after the other
//
// The lengths let unpack tell a value cut short from a whole one.
func pack(r *zenkey.Record, version uint64) []byte {
	b := make([]byte, 0, packHeader+len(r.Subject)+len(r.SID)+len(r.Blob))
	b = append(b, packFormat)
	b = binary.BigEndian.AppendUint64(b, version)
	for _, t := range times(r) {
		b = appendTime(b, *t)
	}
	for _, n := range [...]int{len(r.Subject), len(r.SID), len(r.Blob)} {
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, r.Subject...)
	b = append(b, r.SID...)
	return append(b, r.Blob...)
}

// unpack builds the record with the key from p, a value made by pack. It
// accepts exactly what pack makes and refuses anything else with an error:
// a damaged value never reads as another record. The record's Blob keeps
// p's memory, so p must not change afterwards; Subject and SID share one
// new string.
func unpack(key string, p []byte) (*zenkey.Record, error) {
	// 1. Check the format and the size of the header.
	if len(p) < packHeader {
		return nil, fmt.Errorf("zenkey/redisstore: record %s: packed value of %d bytes, "+
			"want at least %d", key, len(p), packHeader)
	}
	if p[0] != packFormat {
		return nil, fmt.Errorf("zenkey/redisstore: record %s: packed format %d, want %d",
			key, p[0], packFormat)
	}

	// 2. Check that the lengths account for the rest exactly. Each is
	// compared with what is left, so that huge ones cannot overflow a sum.
	rest := p[packHeader:]
	lengths := p[packHeader-3*8:]
	ns := binary.BigEndian.Uint64(lengths)
	nd := binary.BigEndian.Uint64(lengths[8:])
	nb := binary.BigEndian.Uint64(lengths[16:])
	left := uint64(len(rest))
	if ns > left || nd > left-ns || nb != left-ns-nd {
		return nil, fmt.Errorf("zenkey/redisstore: record %s: packed lengths %d, %d, %d "+
			"do not add up to the %d bytes that follow", key, ns, nd, nb, left)
	}

	// 3. Read the version and the times.
	r := &zenkey.Record{Key: key, Version: binary.BigEndian.Uint64(p[1:])}
	for i, t := range times(r) {
		var err error
		if *t, err = readTime(p[1+8+i*timeSize:]); err != nil {
			return nil, fmt.Errorf("zenkey/redisstore: record %s: packed time %d: %w",
				key, i, err)
		}
	}

	// 4. Take the variable parts. A Blob may share memory with the store
	// (zenkey.Store.Get): its capacity ends with it, so that an append
	// copies rather than writes past it.
	ids := string(rest[:ns+nd])
	r.Subject, r.SID = ids[:ns], ids[ns:]
	r.Blob = rest[ns+nd : len(rest) : len(rest)]
	return r, nil
}

// times returns pointers to r's times, in the order they are packed.
func times(r *zenkey.Record) [5]*time.Time {
	return [...]*time.Time{
		&r.Created, &r.LastSeen, &r.IdleDeadline, &r.AbsoluteDeadline, &r.LeaseUntil,
	}
}

// appendTime appends t in 12 bytes: Unix seconds, then nanoseconds. It
// keeps every instant a time.Time can hold, the zero time too.
func appendTime(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// readTime reverses appendTime on the first 12 bytes of b. The result is in
// UTC.
func readTime(b []byte) (time.Time, error) {
	sec := int64(binary.BigEndian.Uint64(b))
	nsec := binary.BigEndian.Uint32(b[8:])
	if nsec >= uint32(time.Second) {
		return time.Time{}, fmt.Errorf("%d nanoseconds, want fewer than a second", nsec)
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}
