package zenkey

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A browser sends the same session cookie with every request. Checking its
// HMAC again each time is most of a signed-in request's cost, so the
// middleware remembers, for a short while, the values that passed the
// check and the store key of the session each names. A value is looked up
// by its exact bytes, so only a value this process verified itself is
// ever trusted; the session it names is still read from the store on every
// request, so a logout takes effect at once.
const (
	verifiedCookieTTL = time.Minute
	maxVerifiedCookie = 1 << 16 // then the cache starts over
)

type verifiedCookies struct {
	m sync.Map // cookie value → *verifiedCookie
	n atomic.Int64
}

type verifiedCookie struct {
	key   string
	until time.Time
}

// get returns the store key for a value verified less than
// verifiedCookieTTL ago, or "".
func (c *verifiedCookies) get(value string, now time.Time) string {
	v, ok := c.m.Load(value)
	if !ok {
		return ""
	}
	e := v.(*verifiedCookie)
	if !now.Before(e.until) {
		return ""
	}
	return e.key
}

// put remembers that value verified and names the session under key.
func (c *verifiedCookies) put(value, key string, now time.Time) {
	if c.n.Add(1) > maxVerifiedCookie {
		c.m.Clear()
		c.n.Store(1)
	}
	// Clone: value points into the request's whole Cookie header.
	c.m.Store(strings.Clone(value), &verifiedCookie{key: key, until: now.Add(verifiedCookieTTL)})
}
