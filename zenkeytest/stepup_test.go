package zenkeytest_test

import (
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey/zenkeytest"
)

// TestStepUp logs in, then approves a payment later with prompt=login and a
// context: the second login is a new one, whose id_token echoes the context.
func TestStepUp(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p := newRP(t, zenkeytest.Config{Now: clock})

	first, _ := p.login(url.Values{"acr_values": {"a1"}})
	before := p.claimsAt(first, clock)
	assert.NotContains(t, before, "context", "no context was sent")
	assert.Equal(t, "a1", before["acr"])

	mu.Lock()
	now = now.Add(10 * time.Minute)
	mu.Unlock()
	const payment = "Pay $20.00 to Example Shop"
	stepUp, _ := p.login(url.Values{
		"prompt": {"login"}, "acr_values": {"a3"}, "context": {payment},
	})
	after := p.claimsAt(stepUp, clock)
	assert.Equal(t, payment, after["context"])
	assert.Equal(t, "a3", after["acr"], "the acr requested")
	assert.Equal(t, float64(now.Unix()), after["auth_time"], "a new login")
	assert.Equal(t, before["sub"], after["sub"])
	assert.NotEqual(t, before["sid"], after["sid"], "each login has its own sid")

	t.Run("refresh keeps the login's context", func(t *testing.T) {
		fresh, err := p.refresh(stepUp)
		require.NoError(t, err)
		c := p.claimsAt(fresh, clock)
		assert.Equal(t, payment, c["context"])
		assert.Equal(t, after["auth_time"], c["auth_time"])
		assert.Equal(t, after["sid"], c["sid"])
	})

	t.Run("EchoContext off", func(t *testing.T) {
		p.s.EchoContext(false)
		tok, _ := p.login(url.Values{"context": {payment}})
		assert.NotContains(t, p.claimsAt(tok, clock), "context")

		p.s.Heal()
		tok, _ = p.login(url.Values{"context": {payment}})
		assert.Equal(t, payment, p.claimsAt(tok, clock)["context"], "Heal turns it on")
	})

	t.Run("EditClaims sees it", func(t *testing.T) {
		p.s.EditClaims(func(c map[string]any) { c["context"] = "Pay $2000.00" })
		t.Cleanup(func() { p.s.EditClaims(nil) })
		tok, _ := p.login(url.Values{"context": {payment}})
		assert.Equal(t, "Pay $2000.00", p.claimsAt(tok, clock)["context"])
	})
}
