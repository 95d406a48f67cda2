package zenkey

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strconv"
	"sync"
	"time"
)

// maxCookieLen is the longest cookie value the middleware reads, as it
// tells securecookie.
const maxCookieLen = 512

// A sessionVerifier checks session cookie values as securecookie writes
// them with the NopEncoder and no encryption: the base64 of
// "date|base64(id)|mac", where mac is the HMAC-SHA256 of
// "name|date|base64(id)".
//
// securecookie's own Decode allocates five times and keys a new HMAC on
// every call, which is most of what a browser's first request in a minute
// costs. This reads the same format with pooled HMACs, keyed once, and
// allocates nothing. securecookie still writes the cookie, and a fuzz test
// checks that both accept the same values.
type sessionVerifier struct {
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

func newSessionVerifier(name string, key []byte, maxAge int) *sessionVerifier {
	v := &sessionVerifier{prefix: []byte(name + "|"), maxAge: int64(maxAge)}
	v.scratch.New = func() any { return &sessionScratch{mac: hmac.New(sha256.New, key)} }
	return v
}

// verify returns the 32-byte session id in value if value's MAC is right
// and its date, by the wall clock that securecookie stamped it with, is
// no older than maxAge.
func (v *sessionVerifier) verify(value string) (id [sessionIDLen]byte, ok bool) {
	// Check the length, then decode from base64.
	if len(value) > maxCookieLen {
		return id, false
	}
	s := v.scratch.Get().(*sessionScratch)
	defer v.scratch.Put(s)
	n, err := base64.URLEncoding.Decode(s.dec[:], s.raw[:copy(s.raw[:], value)])
	if err != nil {
		return id, false
	}
	b := s.dec[:n]

	// Split "date|value|mac" and verify the MAC of "name|date|value".
	date, rest, ok := bytes.Cut(b, []byte("|"))
	if !ok {
		return id, false
	}
	enc, mac, ok := bytes.Cut(rest, []byte("|"))
	if !ok {
		return id, false
	}
	s.mac.Reset()
	s.mac.Write(v.prefix)
	s.mac.Write(b[:len(date)+1+len(enc)])
	if !hmac.Equal(s.mac.Sum(s.sum[:0]), mac) {
		return id, false
	}

	// Check the date.
	stamped, err := strconv.ParseInt(string(date), 10, 64)
	if err != nil || v.maxAge != 0 && stamped < time.Now().Unix()-v.maxAge {
		return id, false
	}

	// Decode the id: 32 bytes are 44 base64 digits, padding included.
	if len(enc) != base64.URLEncoding.EncodedLen(sessionIDLen) {
		return id, false
	}
	n, err = base64.URLEncoding.Decode(s.raw[:], enc)
	if err != nil || n != sessionIDLen {
		return id, false
	}
	copy(id[:], s.raw[:n])
	return id, true
}
