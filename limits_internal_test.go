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

// TestVerifiedCookieCacheIsBounded remembers more verified cookie values
// than the cache keeps: it never holds more than maxVerifiedCookie, it
// starts over once past the bound, and it still answers for the values
// remembered since.
func TestVerifiedCookieCacheIsBounded(t *testing.T) {
	var c verifiedCookies
	now := time.Unix(1_700_000_000, 0)
	key := storeKey([]byte("0123456789abcdef0123456789abcdef"))
	held := func() int {
		n := 0
		c.m.Range(func(any, any) bool { n++; return true })
		return n
	}

	for i := range maxVerifiedCookie {
		c.put("value-"+strconv.Itoa(i), key, now)
	}
	require.Equal(t, maxVerifiedCookie, held(), "the cache keeps up to its bound")
	require.Equal(t, key, c.get("value-0", now), "nothing is dropped before the bound")

	for i := maxVerifiedCookie; i < maxVerifiedCookie+100; i++ {
		c.put("value-"+strconv.Itoa(i), key, now)
	}
	assert.LessOrEqual(t, held(), maxVerifiedCookie, "the cache grew past its bound")
	assert.Empty(t, c.get("value-0", now), "past its bound, the cache started over")
	last := "value-" + strconv.Itoa(maxVerifiedCookie+99)
	assert.Equal(t, key, c.get(last, now), "the values put since are remembered")
	assert.Empty(t, c.get(last, now.Add(verifiedCookieTTL)), "for verifiedCookieTTL only")
}
