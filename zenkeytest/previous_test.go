package zenkeytest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey/zenkeytest"
)

// portClaims are the claims of a port token, verified.
type portClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	PortedTo string `json:"ported_to"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
}

// verifyPortToken verifies a port token with go-oidc against the old
// carrier's issuer, discovered at its standard discovery document.
func verifyPortToken(t *testing.T, p *rp, issuer, raw string) portClaims {
	t.Helper()
	old, err := oidc.NewProvider(p.ctx, issuer)
	require.NoError(t, err)
	idt, err := old.Verifier(&oidc.Config{ClientID: clientID}).Verify(p.ctx, raw)
	require.NoError(t, err)
	var c portClaims
	require.NoError(t, idt.Claims(&c))
	return c
}

// aka returns the "aka" claim of an id_token's claims: port tokens.
func aka(t *testing.T, claims map[string]any) []string {
	t.Helper()
	list, ok := claims["aka"].([]any)
	require.True(t, ok, "aka is an array: %v", claims["aka"])
	var tokens []string
	for _, v := range list {
		s, ok := v.(string)
		require.True(t, ok, "aka holds strings")
		tokens = append(tokens, s)
	}
	return tokens
}

func TestAddPreviousCarrier(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	before, _ := p.login(nil)
	assert.NotContains(t, p.claims(before), "aka", "no previous carrier yet")

	issuer := p.s.AddPreviousCarrier("311480", "311480-old-subject")
	assert.Equal(t, p.s.URL+"/carrier/311480", issuer)

	tok, _ := p.login(nil)
	c := p.claims(tok)
	tokens := aka(t, c)
	require.Len(t, tokens, 1)
	port := verifyPortToken(t, p, issuer, tokens[0])
	assert.Equal(t, issuer, port.Issuer)
	assert.Equal(t, "311480-old-subject", port.Subject)
	assert.Equal(t, c["sub"], port.PortedTo)
	assert.Equal(t, int64(10*time.Minute/time.Second), port.Expiry-port.IssuedAt)
	assert.Equal(t, "JWT", header(t, tokens[0])["typ"])
	assert.NotContains(t, publishedKIDs(t, p), kid(t, tokens[0]), "the old carrier's own key")
	assert.Equal(t, 1, p.s.Calls(zenkeytest.PreviousCarrierConfiguration))
	assert.Equal(t, 1, p.s.Calls(zenkeytest.PreviousCarrierJWKS))

	t.Run("not verified by the new carrier", func(t *testing.T) {
		_, err := p.provider.Verifier(&oidc.Config{ClientID: clientID, SkipIssuerCheck: true}).
			Verify(p.ctx, tokens[0])
		require.Error(t, err)
	})

	t.Run("refresh carries it", func(t *testing.T) {
		fresh, err := p.refresh(tok)
		require.NoError(t, err)
		tokens := aka(t, p.claims(fresh))
		require.Len(t, tokens, 1)
		assert.Equal(t, "311480-old-subject", verifyPortToken(t, p, issuer, tokens[0]).Subject)
	})

	t.Run("EditClaims applies after", func(t *testing.T) {
		p.s.EditClaims(func(c map[string]any) { delete(c, "aka") })
		t.Cleanup(func() { p.s.EditClaims(nil) })
		tok, _ := p.login(nil)
		assert.NotContains(t, p.claims(tok), "aka")
	})

	t.Run("a second carrier, and the first again", func(t *testing.T) {
		second := p.s.AddPreviousCarrier("312530", "312530-older")
		again := p.s.AddPreviousCarrier("311480", "311480-renamed")
		assert.Equal(t, issuer, again)

		tok, _ := p.login(nil)
		tokens := aka(t, p.claims(tok))
		require.Len(t, tokens, 2)
		assert.Equal(t, "311480-renamed", verifyPortToken(t, p, issuer, tokens[0]).Subject)
		assert.Equal(t, "312530-older", verifyPortToken(t, p, second, tokens[1]).Subject)
	})

	t.Run("Heal keeps it", func(t *testing.T) {
		p.s.Heal()
		tok, _ := p.login(nil)
		assert.Len(t, aka(t, p.claims(tok)), 2)
	})
}

func TestPreviousCarrierEndpoints(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	issuer := p.s.AddPreviousCarrier("311480", "311480-old")

	t.Run("discovery issuer", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, p.s.DiscoveryURL+"?"+url.Values{
			"client_id": {clientID}, "mccmnc": {"311480"},
		}.Encode(), nil)
		require.NoError(t, err)
		status, doc := p.doJSON(req)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, issuer, doc["issuer"])
		assert.Equal(t, issuer+"/jwks", doc["jwks_uri"])
		assert.Equal(t, issuer+"/authorize", doc["authorization_endpoint"])
		assert.Equal(t, issuer+"/token", doc["token_endpoint"])
		assert.Equal(t, float64(311480), doc["mccmnc"])
	})

	t.Run("authorize and token answer 400", func(t *testing.T) {
		resp, err := p.browser.Get(issuer + "/authorize?client_id=" + clientID)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

		status, body := p.postForm(issuer+"/token", deadRefresh, true)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_request", body["error"])
	})

	t.Run("unknown carriers are not found", func(t *testing.T) {
		for _, path := range []string{"/.well-known/openid-configuration", "/jwks", "/authorize"} {
			resp, err := p.browser.Get(p.s.URL + "/carrier/312530" + path)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		}
	})

	t.Run("Fail", func(t *testing.T) {
		p.s.Fail(zenkeytest.PreviousCarrierJWKS, http.StatusServiceUnavailable)
		t.Cleanup(p.s.Heal)
		resp, err := p.s.Client().Get(issuer + "/jwks")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	})

	t.Run("the configured carrier is untouched", func(t *testing.T) {
		tok, _ := p.login(nil)
		p.claims(tok)
		var doc map[string]any
		require.NoError(t, p.provider.Claims(&doc))
		assert.Equal(t, p.s.Issuer, doc["issuer"])
	})
}

func TestPortToken(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	issuer := p.s.AddPreviousCarrier("311480", "311480-old")
	now := time.Now()

	raw := p.s.PortToken("311480", map[string]any{
		"iss": issuer, "sub": "311480-someone-else", "aud": clientID,
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "ported_to": "310999-x",
	})
	port := verifyPortToken(t, p, issuer, raw)
	assert.Equal(t, "311480-someone-else", port.Subject)
	assert.Equal(t, "310999-x", port.PortedTo)

	expired := p.s.PortToken("311480", map[string]any{
		"iss": issuer, "sub": "311480-old", "aud": clientID, "exp": now.Add(-time.Hour).Unix(),
	})
	old, err := oidc.NewProvider(p.ctx, issuer)
	require.NoError(t, err)
	_, err = old.Verifier(&oidc.Config{ClientID: clientID}).Verify(p.ctx, expired)
	require.ErrorContains(t, err, "expired")

	// A test puts a bad port token in the id_token with EditClaims.
	p.s.EditClaims(func(c map[string]any) { c["aka"] = []string{expired} })
	tok, _ := p.login(nil)
	assert.Equal(t, []string{expired}, aka(t, p.claims(tok)))

	assert.PanicsWithValue(t, "zenkeytest: PortToken: no previous carrier has mccmnc 312530",
		func() { p.s.PortToken("312530", map[string]any{}) })
	assert.Panics(t, func() { p.s.PortToken("311480", map[string]any{"x": make(chan int)}) })
}

func TestAddPreviousCarrierPanics(t *testing.T) {
	s := zenkeytest.NewServer(zenkeytest.Config{ClientID: clientID, ClientSecret: clientSecret})
	t.Cleanup(s.Close)
	const badCode = "zenkeytest: AddPreviousCarrier: mccmnc must be six digits not starting " +
		"with 0, other than Config.MCCMNC"
	tests := []struct{ name, mccmnc, subject, want string }{
		{"the configured carrier", "310999", "x", badCode},
		{"five digits", "31148", "x", badCode},
		{"leading 0", "011480", "x", badCode},
		{"letters", "31148x", "x", badCode},
		{"no subject", "311480", "", "zenkeytest: AddPreviousCarrier: oldSubject is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.PanicsWithValue(t, tc.want, func() {
				s.AddPreviousCarrier(tc.mccmnc,
					tc.subject)
			})
		})
	}
}

// TestPreviousCarrierDocument checks the JSON types of the old carrier's
// standard discovery document that relying parties depend on.
func TestPreviousCarrierDocument(t *testing.T) {
	s := zenkeytest.NewServer(zenkeytest.Config{ClientID: clientID, ClientSecret: clientSecret})
	t.Cleanup(s.Close)
	issuer := s.AddPreviousCarrier("311480", "311480-old")
	resp, err := s.Client().Get(issuer + "/.well-known/openid-configuration")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"))
	var doc struct {
		MCCMNC json.RawMessage `json:"mccmnc"`
		Algs   []string        `json:"id_token_signing_alg_values_supported"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	assert.Equal(t, "311480", string(doc.MCCMNC), "mccmnc is a JSON number")
	assert.Equal(t, []string{"RS256"}, doc.Algs)
}
