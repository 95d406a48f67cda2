package zenkey

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The bounds on the caches no input can reach from outside: the provider
// configurations kept per carrier, and the session cookie values already
// verified. Each cache must keep working while it is bounded.

// carrierDiscovery answers ZenKey discovery for any carrier code, in
// memory, and counts the documents it served.
type carrierDiscovery struct{ served atomic.Int64 }

func (d *carrierDiscovery) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.served.Add(1)
	mccmnc := r.URL.Query().Get("mccmnc")
	carrier := "https://carrier-" + mccmnc + ".test"
	json.NewEncoder(w).Encode(map[string]string{
		"issuer":                 carrier,
		"authorization_endpoint": carrier + "/authorize",
		"token_endpoint":         carrier + "/token",
		"userinfo_endpoint":      carrier + "/userinfo",
		"jwks_uri":               carrier + "/jwks",
		"mccmnc":                 mccmnc,
	})
}

// TestProviderCacheIsBounded asks for the configurations of more carriers
// than the cache keeps: it never holds more than maxProviders, and it
// still caches, so that a carrier asked for twice is fetched once.
func TestProviderCacheIsBounded(t *testing.T) {
	discovery := &carrierDiscovery{}
	m := fuzzMiddleware(t, discovery, func(o *Options) {
		o.DiscoveryURL = "https://discovery.test/.well-known/openid_configuration"
	})
	cached := func() int {
		m.providers.mu.Lock()
		defer m.providers.mu.Unlock()
		return len(m.providers.by)
	}

	most := 0
	for i := range maxProviders + 50 {
		mccmnc := fmt.Sprintf("%06d", 310000+i)
		p, err := m.providers.get(context.Background(), mccmnc)
		require.NoError(t, err)
		require.Equal(t, mccmnc, p.mccmnc)
		most = max(most, cached())
	}
	assert.LessOrEqual(t, most, maxProviders, "the cache grew past its bound")
	assert.Equal(t, int64(maxProviders+50), discovery.served.Load())

	last := fmt.Sprintf("%06d", 310000+maxProviders+49)
	_, err := m.providers.get(context.Background(), last)
	require.NoError(t, err)
	assert.Equal(t, int64(maxProviders+50), discovery.served.Load(),
		"the bounded cache still keeps the carrier just asked for")
}

// TestVerifiedCookieCacheIsBounded remembers four times more verified
// cookie values than the cache has slots: it never holds more than its
// slots, a value is only ever answered with its own store key (never with
// the key of a value that shares its slot), and the value put last is
// remembered for verifiedCookieTTL.
func TestVerifiedCookieCacheIsBounded(t *testing.T) {
	c := newVerifiedCookies()
	now := time.Unix(1_700_000_000, 0)
	keyOf := func(i int) string { return storeKey([]byte(strconv.Itoa(i))) }
	const n = 4 * verifiedCookieSlots
	for i := range n {
		c.put("value-"+strconv.Itoa(i), keyOf(i), now.Add(verifiedCookieTTL))
	}

	held, answered := 0, 0
	for i := range c.slots {
		if c.slots[i].Load() != nil {
			held++
		}
	}
	for i := range n {
		switch got := c.get("value-"+strconv.Itoa(i), now); got {
		case "":
		case keyOf(i):
			answered++
		default:
			t.Fatalf("value-%d answered with another value's store key", i)
		}
	}
	assert.LessOrEqual(t, held, verifiedCookieSlots, "the cache grew past its slots")
	assert.Equal(t, held, answered, "every value held is answered, and only those")
	last := "value-" + strconv.Itoa(n-1)
	assert.Equal(t, keyOf(n-1), c.get(last, now), "the value put last is remembered")
	assert.Empty(t, c.get(last, now.Add(verifiedCookieTTL)), "until the time put with it")
}

// TestVerifiedCookieEndsWithTheCookiesAge: the cache remembers a verified
// value for a minute at most, and never past the age limit of the cookie
// (AbsoluteTimeout), which a check would refuse.
func TestVerifiedCookieEndsWithTheCookiesAge(t *testing.T) {
	now := fuzzNow
	m := fuzzMiddleware(t, http.NotFoundHandler(), func(o *Options) {
		o.AbsoluteTimeout = time.Hour
		o.Now = func() time.Time { return now }
	})
	id, key := newSessionID()
	value := m.keys.current().session.encode(id, now)
	r := &http.Request{Header: http.Header{"Cookie": {cookieName + "=" + value}}}

	now = now.Add(time.Hour - 10*time.Second)
	require.Equal(t, key, m.sessionKey(r, now), "a cookie within its age")
	now = now.Add(20 * time.Second)
	assert.Empty(t, m.sessionKey(r, now), "past its age, within the cache's minute")
}
