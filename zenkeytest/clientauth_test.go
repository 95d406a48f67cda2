package zenkeytest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/zenkey-go/zenkey/zenkeytest"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// clientKey is the client's key for private_key_jwt, made once: RSA keys are
// slow to generate.
var clientKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// assertionClaims returns the claims of a valid client assertion for aud.
func assertionClaims(aud string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": clientID,
		"sub": clientID,
		"aud": aud,
		"jti": rand.Text(),
		"iat": now.Unix(),
		"exp": now.Add(time.Minute).Unix(),
	}
}

// signAssertion signs claims with key and RS256, with a kid, in compact
// serialization.
func signAssertion(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256,
		Key: jose.JSONWebKey{Key: key, KeyID: "client-key-1"}}, nil)
	require.NoError(t, err)
	jws, err := signer.Sign(payload)
	require.NoError(t, err)
	raw, err := jws.CompactSerialize()
	require.NoError(t, err)
	return raw
}

// withAssertion returns form with a client assertion added.
func withAssertion(form url.Values, assertion string) url.Values {
	out := url.Values{"client_assertion_type": {assertionType}, "client_assertion": {assertion}}
	for k, v := range form {
		out[k] = v
	}
	return out
}

// deadRefresh is a token request that fails with invalid_grant once the
// client is authenticated: it tells authentication failures (401) apart.
var deadRefresh = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"unknown"}}

func TestClientAssertion(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	p.s.SetClientKey(&clientKey().PublicKey, false)
	tokenURL, revokeURL := p.s.Issuer+"/token", p.s.Issuer+"/revoke"

	t.Run("code exchange", func(t *testing.T) {
		claims := assertionClaims(tokenURL)
		a := newAuthRequest(nil)
		form := withAssertion(url.Values{
			"grant_type":    {"authorization_code"},
			"code":          {p.authorize(a).Get("code")},
			"redirect_uri":  {redirectURL},
			"code_verifier": {a.verifier},
		}, signAssertion(t, clientKey(), claims))
		status, body := p.postForm(tokenURL, form, false)
		require.Equal(t, http.StatusOK, status, "body: %v", body)
		assert.NotEmpty(t, body["id_token"])

		last := p.s.LastClientAssertion()
		assert.Equal(t, claims["jti"], last["jti"])
		assert.Equal(t, clientID, last["iss"])
		assert.Equal(t, "client-key-1", p.s.LastClientAssertionKeyID(),
			"the kid signAssertion sets")
	})

	t.Run("x/oauth2 with client_id in the body", func(t *testing.T) {
		conf := p.conf
		conf.ClientSecret = ""
		conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		a := newAuthRequest(nil)
		assertion := signAssertion(t, clientKey(), assertionClaims(tokenURL))
		tok, err := conf.Exchange(p.ctx, p.authorize(a).Get("code"),
			oauth2.VerifierOption(a.verifier),
			oauth2.SetAuthURLParam("client_assertion_type", assertionType),
			oauth2.SetAuthURLParam("client_assertion", assertion))
		require.NoError(t, err)
		p.claims(tok)
	})

	t.Run("aud in an array", func(t *testing.T) {
		claims := assertionClaims(tokenURL)
		claims["aud"] = []string{"https://elsewhere.example", tokenURL}
		status, body := p.postForm(tokenURL,
			withAssertion(deadRefresh, signAssertion(t, clientKey(), claims)), false)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", body["error"], "authenticated, then the grant failed")
	})

	t.Run("iat within a minute ahead", func(t *testing.T) {
		claims := assertionClaims(tokenURL)
		claims["iat"] = time.Now().Add(30 * time.Second).Unix()
		status, _ := p.postForm(tokenURL,
			withAssertion(deadRefresh, signAssertion(t, clientKey(), claims)), false)
		assert.Equal(t, http.StatusBadRequest, status)
	})

	t.Run("client_secret_basic still works", func(t *testing.T) {
		status, body := p.postForm(tokenURL, deadRefresh, true)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", body["error"])
	})

	t.Run("revocation", func(t *testing.T) {
		tok, _ := p.login(nil)
		for _, aud := range []string{revokeURL, p.s.Issuer + "/userinfo"} {
			form := withAssertion(url.Values{"token": {tok.RefreshToken}},
				signAssertion(t, clientKey(), assertionClaims(aud)))
			status, body := p.postForm(revokeURL, form, false)
			assert.Equal(t, http.StatusUnauthorized, status, aud)
			assert.Equal(t, "invalid_client", body["error"])
			assert.Contains(t, body["error_description"], "aud must hold "+tokenURL)
		}
		assert.False(t, p.s.IsRevoked(tok.RefreshToken), "only the token endpoint is the aud")

		form := withAssertion(url.Values{"token": {tok.AccessToken}},
			signAssertion(t, clientKey(), assertionClaims(tokenURL)))
		status, _ := p.postForm(revokeURL, form, false)
		assert.Equal(t, http.StatusOK, status)
		assert.True(t, p.s.IsRevoked(tok.AccessToken))
	})

	t.Run("replay", func(t *testing.T) {
		assertion := signAssertion(t, clientKey(), assertionClaims(tokenURL))
		status, _ := p.postForm(tokenURL, withAssertion(deadRefresh, assertion), false)
		assert.Equal(t, http.StatusBadRequest, status)

		rejected := p.s.RejectedClientAssertions()
		status, body := p.postForm(tokenURL, withAssertion(deadRefresh, assertion), false)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "invalid_client", body["error"])
		assert.Contains(t, body["error_description"], "jti")
		assert.Equal(t, rejected+1, p.s.RejectedClientAssertions())
	})

	t.Run("assertion and basic together", func(t *testing.T) {
		form := withAssertion(deadRefresh,
			signAssertion(t, clientKey(), assertionClaims(tokenURL)))
		status, body := p.postForm(tokenURL, form, true)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_request", body["error"])
	})
}

func TestClientAssertionRejects(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	p.s.SetClientKey(&clientKey().PublicKey, false)
	tokenURL := p.s.Issuer + "/token"
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	// Each case edits a valid assertion's claims or form; sign, when set,
	// encodes the claims instead of the client's key.
	type claims = map[string]any
	tests := []struct {
		name, why string // why is in the error_description
		edit      func(c claims, f url.Values)
		sign      func(t *testing.T, c claims) string
	}{
		{name: "iss", why: "iss", edit: func(c claims, _ url.Values) { c["iss"] = "other" }},
		{name: "sub", why: "sub", edit: func(c claims, _ url.Values) { c["sub"] = "other" }},
		{name: "no aud", why: "aud must be", edit: func(c claims, _ url.Values) {
			delete(c, "aud")
		}},
		{name: "aud issuer", why: "aud must hold", edit: func(c claims, _ url.Values) {
			c["aud"] = p.s.Issuer
		}},
		{name: "aud revocation endpoint", why: "aud must hold", edit: func(c claims, _ url.Values) {
			c["aud"] = p.s.Issuer + "/revoke" // refused at the revocation endpoint too
		}},
		{name: "aud array without it", why: "aud must hold", edit: func(c claims, _ url.Values) {
			c["aud"] = []string{p.s.Issuer}
		}},
		{name: "aud number", why: "aud must be", edit: func(c claims, _ url.Values) {
			c["aud"] = 1
		}},
		{name: "no exp", why: "exp is required", edit: func(c claims, _ url.Values) {
			delete(c, "exp")
		}},
		{name: "expired", why: "exp has passed", edit: func(c claims, _ url.Values) {
			c["exp"] = time.Now().Add(-time.Second).Unix()
		}},
		{name: "exp too far", why: "5 minutes", edit: func(c claims, _ url.Values) {
			c["exp"] = time.Now().Add(6 * time.Minute).Unix()
		}},
		{name: "exp a string", why: "well-typed", edit: func(c claims, _ url.Values) {
			c["exp"] = "soon"
		}},
		{name: "iat ahead", why: "iat", edit: func(c claims, _ url.Values) {
			c["iat"] = time.Now().Add(2 * time.Minute).Unix()
		}},
		{name: "nbf ahead", why: "nbf", edit: func(c claims, _ url.Values) {
			c["nbf"] = time.Now().Add(2 * time.Minute).Unix()
		}},
		{name: "no jti", why: "jti", edit: func(c claims, _ url.Values) { delete(c, "jti") }},
		{name: "other client_id", why: "client_id", edit: func(_ claims, f url.Values) {
			f.Set("client_id", "other")
		}},
		{name: "SAML assertion", why: "client_assertion_type must", edit: func(_ claims,
			f url.Values) {
			f.Set("client_assertion_type",
				"urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
		}},
		{name: "no assertion", why: "sent once", edit: func(_ claims, f url.Values) {
			f.Del("client_assertion")
		}},
		{name: "other key", why: "signature", sign: func(t *testing.T, c claims) string {
			return signAssertion(t, otherKey, c)
		}},
		{name: "alg none", why: "RS256", sign: unsigned},
		{name: "JSON serialization", why: "compact", sign: func(t *testing.T, c claims) string {
			return jsonSerialization(t, signAssertion(t, clientKey(), c))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := assertionClaims(tokenURL)
			form := withAssertion(deadRefresh, "")
			if tc.edit != nil {
				tc.edit(c, form)
			}
			sign := func(t *testing.T, c claims) string { return signAssertion(t, clientKey(), c) }
			if tc.sign != nil {
				sign = tc.sign
			}
			if form.Has("client_assertion") {
				form.Set("client_assertion", sign(t, c))
			}
			rejected := p.s.RejectedClientAssertions()

			status, body := p.postForm(tokenURL, form, false)
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Equal(t, "invalid_client", body["error"])
			assert.Contains(t, body["error_description"], tc.why)
			assert.Equal(t, rejected+1, p.s.RejectedClientAssertions())
		})
	}
	assert.Nil(t, p.s.LastClientAssertion(), "none was accepted")
	assert.Empty(t, p.s.LastClientAssertionKeyID(), "none was accepted")
}

func TestSetClientKey(t *testing.T) {
	p := newRP(t, zenkeytest.Config{})
	tokenURL := p.s.Issuer + "/token"
	post := func(t *testing.T, basic bool) (int, map[string]any) {
		t.Helper()
		form := deadRefresh
		if !basic {
			form = withAssertion(deadRefresh,
				signAssertion(t, clientKey(), assertionClaims(tokenURL)))
		}
		return p.postForm(tokenURL, form, basic)
	}
	methods := func(t *testing.T) any {
		t.Helper()
		resp, err := p.s.Client().Get(p.s.Issuer + "/.well-known/openid-configuration")
		require.NoError(t, err)
		defer resp.Body.Close()
		var doc map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
		return doc["token_endpoint_auth_methods_supported"]
	}

	t.Run("none by default", func(t *testing.T) {
		status, body := post(t, false)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "invalid_client", body["error"])
		assert.Equal(t, []any{"client_secret_basic"}, methods(t))
	})

	t.Run("required", func(t *testing.T) {
		p.s.SetClientKey(&clientKey().PublicKey, true)
		p.s.Heal() // keeps the key
		status, body := post(t, true)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "invalid_client", body["error"])
		status, _ = post(t, false)
		assert.Equal(t, http.StatusBadRequest, status, "authenticated")
		assert.Equal(t, []any{"private_key_jwt"}, methods(t))
	})

	t.Run("optional", func(t *testing.T) {
		p.s.SetClientKey(&clientKey().PublicKey, false)
		for _, basic := range []bool{true, false} {
			status, _ := post(t, basic)
			assert.Equal(t, http.StatusBadRequest, status, "authenticated")
		}
		assert.Equal(t, []any{"client_secret_basic", "private_key_jwt"}, methods(t))
	})

	t.Run("nil removes it", func(t *testing.T) {
		p.s.SetClientKey(nil, true)
		status, _ := post(t, false)
		assert.Equal(t, http.StatusUnauthorized, status)
		status, _ = post(t, true)
		assert.Equal(t, http.StatusBadRequest, status, "authenticated")
	})
}

// unsigned returns claims as an unsecured JWT, with alg "none".
func unsigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(payload) + "."
}

// jsonSerialization turns a compact JWS into its flattened JSON serialization.
func jsonSerialization(t *testing.T, compact string) string {
	t.Helper()
	parts := strings.Split(compact, ".")
	require.Len(t, parts, 3)
	b, err := json.Marshal(map[string]string{
		"protected": parts[0], "payload": parts[1], "signature": parts[2],
	})
	require.NoError(t, err)
	return string(b)
}
