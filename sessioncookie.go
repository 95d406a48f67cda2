package zenkey

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"math"
	"strconv"
	"sync"
	"time"
)

// maxCookieLen is the longest cookie value the middleware reads: the
// codec's bound, and securecookie's for the login cookie.
const maxCookieLen = 512

// A sessionCodec writes and checks session cookie values in securecookie's
// format, with the NopEncoder and no encryption: the base64 of
// "date|base64(id)|mac", where mac is the HMAC-SHA256 of
// "name|date|base64(id)" and date is in Unix seconds.
//
// securecookie's own Decode allocates five times and keys a new HMAC on
// every call, which was most of what a browser's first request in a minute
// cost; it also dates values by the wall clock only. This reads the format
// with pooled HMACs, keyed once, allocates nothing, and dates values by
// the middleware's clock. Tests check that it accepts no value securecookie
// refuses and reads the same id from the values both accept. It is
// stricter on one point: securecookie's base64 skips line breaks inside the
// id, and the codec refuses them.
type sessionCodec struct {
	prefix  []byte // the cookie's name and "|", which the MAC covers
	maxAge  int64  // in seconds; 0 accepts any age
	scratch sync.Pool
}

// sessionScratch is what one check works in: kept in a pool, as buffers
// handed to a hash.Hash would otherwise be allocated on every call.
type sessionScratch struct {
	mac hash.Hash
	raw [maxCookieLen]byte
	dec [maxCookieLen / 4 * 3]byte
	sum [sha256.Size]byte
}

func newSessionCodec(name string, key []byte, maxAge int) *sessionCodec {
	c := &sessionCodec{prefix: []byte(name + "|"), maxAge: int64(maxAge)}
	c.scratch.New = func() any { return &sessionScratch{mac: hmac.New(sha256.New, key)} }
	return c
}

// encode returns the cookie value that carries id, dated now.
func (c *sessionCodec) encode(id []byte, now time.Time) string {
	b := strconv.AppendInt(nil, now.Unix(), 10)
	b = append(b, '|')
	b = base64.URLEncoding.AppendEncode(b, id)

	s := c.scratch.Get().(*sessionScratch)
	defer c.scratch.Put(s)
	s.mac.Reset()
	s.mac.Write(c.prefix)
	s.mac.Write(b)
	b = append(append(b, '|'), s.mac.Sum(s.sum[:0])...)
	return base64.URLEncoding.EncodeToString(b)
}

// verify returns the 32-byte session id in value if value's MAC is right
// and it is dated no more than maxAge before now, and when the value's age
// runs out (or, with no maxAge, the end of time).
func (c *sessionCodec) verify(value string, now time.Time) (id [sessionIDLen]byte,
	expires time.Time, ok bool) {
	// Check the length, then decode from base64.
	if len(value) > maxCookieLen {
		return id, expires, false
	}
	s := c.scratch.Get().(*sessionScratch)
	defer c.scratch.Put(s)
	n, err := base64.URLEncoding.Decode(s.dec[:], s.raw[:copy(s.raw[:], value)])
	if err != nil {
		return id, expires, false
	}
	b := s.dec[:n]

	// Split "date|value|mac" and verify the MAC of "name|date|value".
	date, rest, ok := bytes.Cut(b, []byte("|"))
	if !ok {
		return id, expires, false
	}
	enc, mac, ok := bytes.Cut(rest, []byte("|"))
	if !ok {
		return id, expires, false
	}
	s.mac.Reset()
	s.mac.Write(c.prefix)
	s.mac.Write(b[:len(date)+1+len(enc)])
	if !hmac.Equal(s.mac.Sum(s.sum[:0]), mac) {
		return id, expires, false
	}

	// Check the date.
	dated, err := strconv.ParseInt(string(date), 10, 64)
	if err != nil || c.maxAge != 0 && dated < now.Unix()-c.maxAge {
		return id, expires, false
	}
	expires = time.Unix(0, math.MaxInt64) // the latest time in Unix nanoseconds
	if c.maxAge != 0 {
		expires = time.Unix(dated+c.maxAge+1, 0) // good through second dated+maxAge
	}

	// Decode the id: 32 bytes are 44 base64 digits, padding included.
	if len(enc) != base64.URLEncoding.EncodedLen(sessionIDLen) {
		return id, expires, false
	}
	n, err = base64.URLEncoding.Decode(s.raw[:], enc)
	if err != nil || n != sessionIDLen {
		return id, expires, false
	}
	copy(id[:], s.raw[:n])
	return id, expires, true
}
