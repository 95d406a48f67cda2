package zenkey

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
	"time"
)

// A browser sends the same session cookie with every request. Checking its
// HMAC again each time is most of a signed-in request's cost, so the
// middleware remembers, for a minute at most and never past a value's own
// age limit, the values that passed the check and the store key of the
// session each names. A value is looked up
// by its exact bytes, so only a value this process verified itself is
// ever trusted; the session it names is still read from the store on every
// request, so a logout takes effect at once.
const (
	verifiedCookieTTL   = time.Minute
	verifiedCookieSlots = 1 << 14
)

// verifiedCookies is a direct-mapped cache: each value has one slot,
// chosen by a hash keyed at random, and a value put there replaces the one
// before. So it never holds more than verifiedCookieSlots values, takes no
// lock, and allocates only when it remembers a value; a browser whose slot
// another took has its cookie checked again, no more.
type verifiedCookies struct {
	seed  maphash.Seed
	slots []atomic.Pointer[verifiedCookie]
}

type verifiedCookie struct {
	value string
	key   string
	until int64 // Unix nanoseconds
}

func newVerifiedCookies() verifiedCookies {
	return verifiedCookies{
		seed:  maphash.MakeSeed(),
		slots: make([]atomic.Pointer[verifiedCookie], verifiedCookieSlots),
	}
}

// get returns the store key for a value verified less than
// verifiedCookieTTL ago, or "".
//
// The comparison of values takes longer the more bytes they share, but it
// cannot be timed to guess a value held: a value meets another only in the
// slot a randomly keyed hash gives it, and changing any byte of it moves
// it to another slot.
func (c *verifiedCookies) get(value string, now time.Time) string {
	e := c.slot(value).Load()
	if e == nil || e.value != value || now.UnixNano() >= e.until {
		return ""
	}
	return e.key
}

// put remembers, until the time given, that value verified and names the
// session under key.
func (c *verifiedCookies) put(value, key string, until time.Time) {
	// Clone: value points into the request's whole Cookie header.
	c.slot(value).Store(&verifiedCookie{
		value: strings.Clone(value),
		key:   key,
		until: until.UnixNano(),
	})
}

func (c *verifiedCookies) slot(value string) *atomic.Pointer[verifiedCookie] {
	return &c.slots[maphash.String(c.seed, value)%verifiedCookieSlots]
}
