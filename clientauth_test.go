package zenkey_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// clientKeyFile writes a fresh RSA key as PKCS#8 PEM with the given mode.
func clientKeyFile(t *testing.T, mode os.FileMode) (string, *rsa.PrivateKey) {
	key := newRSAKey(t)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	block := &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	return writeKeyFile(t, mode, pem.EncodeToMemory(block)), key
}

func newRSAKey(t *testing.T) *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return key
}

// writeKeyFile writes data as a key file with the given mode.
func writeKeyFile(t *testing.T, mode os.FileMode, data []byte) string {
	path := filepath.Join(t.TempDir(), "client.pem")
	require.NoError(t, os.WriteFile(path, data, mode))
	require.NoError(t, os.Chmod(path, mode))
	return path
}

func TestPrivateKeyJWT(t *testing.T) {
	path, key := clientKeyFile(t, 0o600)
	h := newHarness(t, func(o *zenkey.Options) {
		o.ClientSecret = ""
		o.ClientKeyFile = path
		o.ClientKeyID = "client-key-1"
		o.IdleTimeout = 4 * time.Hour
	})
	h.idp.SetClientKey(&key.PublicKey, true)
	h.tokenRoute()

	require.Equal(t, http.StatusOK, h.login().status, "signed in with a client assertion")
	c := h.idp.LastClientAssertion()
	assert.Equal(t, testClientID, c["iss"])
	assert.Equal(t, testClientID, c["sub"])
	assert.Equal(t, h.idp.Issuer+"/token", audienceOf(c["aud"]))
	assert.NotEmpty(t, c["jti"])
	assert.LessOrEqual(t, c["exp"].(float64)-c["iat"].(float64), 60.0, "short-lived")
	assert.Equal(t, "client-key-1", h.idp.LastClientAssertionKeyID(), "Options.ClientKeyID")

	h.clock.Advance(30 * time.Minute)
	assert.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body,
		"refresh authenticates too")
	assert.Equal(t, 1, h.idp.Calls(zenkeytest.Refresh))

	h.do(h.browser, http.MethodPost, "/auth/logout", true)
	h.zk.WaitRevocations()
	assert.Equal(t, 2, h.idp.RevokedCount(), "revocation authenticates too")
	assert.Equal(t, h.idp.Issuer+"/token", audienceOf(h.idp.LastClientAssertion()["aud"]),
		"every assertion is for the token endpoint, the revocation's too")
}

func audienceOf(v any) string {
	switch a := v.(type) {
	case string:
		return a
	case []any:
		if len(a) == 1 {
			s, _ := a[0].(string)
			return s
		}
	}
	return ""
}

func TestPrivateKeyJWTWithTheWrongKeyIsRefused(t *testing.T) {
	path, _ := clientKeyFile(t, 0o600)
	_, other := clientKeyFile(t, 0o600)
	h := newHarness(t, func(o *zenkey.Options) {
		o.ClientSecret = ""
		o.ClientKeyFile = path
	})
	h.idp.SetClientKey(&other.PublicKey, true)

	p := h.login()

	assert.Equal(t, http.StatusBadRequest, p.status)
	assert.False(t, h.signedIn(h.browser))
}

// TestClientKeyFileFormats loads an RSA key in either PEM encoding, and
// refuses anything else with a message that says what is wrong.
func TestClientKeyFileFormats(t *testing.T) {
	rsaKey := newRSAKey(t)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ec, err := x509.MarshalPKCS8PrivateKey(ecKey)
	require.NoError(t, err)

	tests := []struct {
		name string
		pem  []byte
		err  string // "": the key signs the login's assertions
	}{
		{"PKCS#1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
			Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), ""},
		{"PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), ""},
		{"EC key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ec}),
			"is not an RSA private key"},
		{"no PEM", []byte("not a key"), "holds no PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeKeyFile(t, 0o600, tt.pem)
			if tt.err != "" {
				o := validOptions()
				o.ClientKeyFile = path
				_, err := zenkey.New(o)
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			h := newHarness(t, func(o *zenkey.Options) {
				o.ClientSecret = ""
				o.ClientKeyFile = path
			})
			h.idp.SetClientKey(&rsaKey.PublicKey, true)
			assert.Equal(t, http.StatusOK, h.login().status, "signed in with a client assertion")
			assert.Empty(t, h.idp.LastClientAssertionKeyID(), "no kid without Options.ClientKeyID")
		})
	}
}

func TestClientKeyFileMustBePrivate(t *testing.T) {
	path, _ := clientKeyFile(t, 0o644)
	o := validOptions()
	o.ClientSecret = ""
	o.ClientKeyFile = path
	_, err := zenkey.New(o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "chmod 600")
}
