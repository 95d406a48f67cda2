package zenkey

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryProviderCallHasATimeout: the clients that make the calls to the
// provider (discovery, keys, userinfo through Options.HTTPClient; code
// exchange, refresh and revocation through the token client) all have a
// timeout, also when the app's own client has none. The app's client is
// used through a copy and left as it was.
func TestEveryProviderCallHasATimeout(t *testing.T) {
	transport := &http.Transport{}
	const ten = 10 * time.Second
	tests := []struct {
		name    string
		client  *http.Client
		keyFile bool // private_key_jwt: the token client is another
		want    time.Duration
	}{
		{"default client", nil, false, ten},
		{"client without timeout", &http.Client{Transport: transport}, false, ten},
		{"client without timeout, private_key_jwt", &http.Client{Transport: transport}, true, ten},
		{"client with its own timeout",
			&http.Client{Transport: transport, Timeout: 3 * time.Second}, false, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before http.Client
			if tt.client != nil {
				before = *tt.client
			}
			o := Options{
				ClientID: "client", ClientSecret: "secret", SecretKey: fuzzMaster,
				RedirectURL: "https://app.example/auth/callback", HTTPClient: tt.client,
			}
			if tt.keyFile {
				o.ClientSecret, o.ClientKeyFile = "", writeClientKey(t)
			}

			m, err := New(o)
			require.NoError(t, err)

			assert.Equal(t, tt.want, m.opts.HTTPClient.Timeout, "discovery, keys, userinfo")
			assert.Equal(t, tt.want, m.tokenClient.Timeout, "code exchange, refresh, revocation")
			if tt.client != nil {
				assert.Same(t, transport, m.transport(), "the app's transport is used")
				assert.Equal(t, before.Timeout, tt.client.Timeout, "the app's client is left alone")
			}
		})
	}
}

// writeClientKey writes a fresh RSA key as a private PKCS#1 PEM file.
func writeClientKey(t *testing.T) string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	path := filepath.Join(t.TempDir(), "client.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	return path
}

// TestClientAssertionAudienceIsTheTokenEndpoint: the assertion sent with a
// revocation names the provider's token endpoint, and a request to an
// endpoint no provider has gets no assertion at all.
func TestClientAssertionAudienceIsTheTokenEndpoint(t *testing.T) {
	known := map[string]string{"https://carrier.example/revoke": "https://carrier.example/token"}
	tr := &assertionTransport{tokenEndpointFor: func(revocation string) (string, bool) {
		aud, ok := known[revocation]
		return aud, ok
	}}
	tests := []struct {
		name, endpoint string
		form           url.Values
		want           string // "": refused
	}{
		{"code exchange", "https://carrier.example/token?x=1",
			url.Values{"grant_type": {"authorization_code"}}, "https://carrier.example/token"},
		{"refresh", "https://carrier.example/token",
			url.Values{"grant_type": {"refresh_token"}}, "https://carrier.example/token"},
		{"revocation", "https://carrier.example/revoke",
			url.Values{"token": {"t"}}, "https://carrier.example/token"},
		{"unknown endpoint", "https://elsewhere.example/revoke", url.Values{"token": {"t"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.endpoint)
			require.NoError(t, err)
			aud, err := tr.audience(u, tt.form)
			if tt.want == "" {
				assert.ErrorContains(t, err, "zenkey: ")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, aud)
		})
	}
}
