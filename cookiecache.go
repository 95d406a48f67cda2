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
// check and the session id in each. A value is looked up by its exact
// bytes, so only a value this process verified itself is ever trusted; the
// session it names is still read from the store on every request, so a
// logout takes effect at once.
const (
	verifiedCookieTTL = time.Minute
	maxVerifiedCookie = 1 << 16 // then the cache starts over
)

type verifiedCookies struct {
	m sync.Map // cookie value → *verifiedCookie
	n atomic.Int64
}

type verifiedCookie struct {
	id    []byte
	until time.Time
}

// get returns the id in a value verified less than verifiedCookieTTL ago.
func (c *verifiedCookies) get(value string, now time.Time) []byte {
	v, ok := c.m.Load(value)
	if !ok {
		return nil
	}
	e := v.(*verifiedCookie)
	if !now.Before(e.until) {
		return nil
	}
	return e.id
}

// put remembers that value verified and carries id.
func (c *verifiedCookies) put(value string, id []byte, now time.Time) {
	if c.n.Add(1) > maxVerifiedCookie {
		c.m.Clear()
		c.n.Store(1)
	}
	// Clone: value points into the request's whole Cookie header.
	c.m.Store(strings.Clone(value), &verifiedCookie{id: id, until: now.Add(verifiedCookieTTL)})
}
