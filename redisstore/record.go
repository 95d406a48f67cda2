package redisstore

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/zenkey-go/zenkey"
)

// fieldNames lists the hash fields that Get reads, in the order decode
// expects them. Field x, the record's end for the scripts, is written only.
var fieldNames = [...]string{"v", "c", "l", "i", "a", "u", "s", "d", "b"}

// fields returns r as the field, value pairs of its hash, with version.
func fields(r *zenkey.Record, version uint64) []any {
	return []any{
		"v", version,
		"x", r.Expires().UnixMilli(),
		"c", encodeTime(r.Created),
		"l", encodeTime(r.LastSeen),
		"i", encodeTime(r.IdleDeadline),
		"a", encodeTime(r.AbsoluteDeadline),
		"u", encodeTime(r.LeaseUntil),
		"s", r.Subject,
		"d", r.SID,
		"b", r.Blob,
	}
}

// decode builds the record with the key from the values of fieldNames. A
// hash without a version does not exist: ErrNotFound.
func decode(key string, vals []any) (*zenkey.Record, error) {
	if vals[0] == nil {
		return nil, zenkey.ErrNotFound
	}
	var s [len(fieldNames)]string
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("zenkey/redisstore: record %s lacks field %s",
				key, fieldNames[i])
		}
		s[i] = str
	}

	version, err := strconv.ParseUint(s[0], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("zenkey/redisstore: record %s: bad version: %w", key, err)
	}
	r := &zenkey.Record{
		Key:     key,
		Version: version,
		Subject: s[6],
		SID:     s[7],
		Blob:    []byte(s[8]),
	}
	times := [...]*time.Time{
		&r.Created, &r.LastSeen, &r.IdleDeadline, &r.AbsoluteDeadline, &r.LeaseUntil,
	}
	for i, t := range times {
		if *t, err = decodeTime(s[1+i]); err != nil {
			return nil, fmt.Errorf("zenkey/redisstore: record %s: field %s: %w",
				key, fieldNames[1+i], err)
		}
	}
	return r, nil
}

// encodeTime packs t in 12 bytes: Unix seconds, then nanoseconds, big
// endian. It keeps every instant a time.Time can hold, the zero time too.
func encodeTime(t time.Time) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 12), uint64(t.Unix()))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// decodeTime reverses encodeTime. The result is in UTC.
func decodeTime(s string) (time.Time, error) {
	if len(s) != 12 {
		return time.Time{}, fmt.Errorf("time of %d bytes, want 12", len(s))
	}
	sec := int64(binary.BigEndian.Uint64([]byte(s[:8])))
	nsec := int64(binary.BigEndian.Uint32([]byte(s[8:])))
	return time.Unix(sec, nsec).UTC(), nil
}
