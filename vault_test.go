package zenkey

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testRing(t *testing.T, current string, previous ...string) keyring {
	t.Helper()
	var prev []Secret
	for _, p := range previous {
		prev = append(prev, Secret(p))
	}
	ring, err := newKeyring(Secret(current), prev, 3600)
	require.NoError(t, err)
	return ring
}

const (
	secretA = "secret-A-0123456789abcdef0123456789"
	secretB = "secret-B-0123456789abcdef0123456789"
)

func TestVaultRoundTrip(t *testing.T) {
	ring := testRing(t, secretA)
	blob := ring.seal("record-1", []byte("access-token-xyz"))

	plain, stale, err := ring.open("record-1", blob)

	require.NoError(t, err)
	assert.False(t, stale)
	assert.Equal(t, "access-token-xyz", string(plain))
	assert.False(t, bytes.Contains(blob, []byte("access-token-xyz")), "the blob is ciphertext")
}

func TestVaultBindsBlobToItsRecord(t *testing.T) {
	ring := testRing(t, secretA)
	blob := ring.seal("record-1", []byte("tokens"))

	_, _, err := ring.open("record-2", blob)

	assert.ErrorIs(t, err, errVaultOpen, "a blob copied into another record does not open")
}

func TestVaultRefusesAlteredBlobs(t *testing.T) {
	ring := testRing(t, secretA)
	blob := ring.seal("record-1", []byte("tokens"))
	for i := range blob {
		altered := bytes.Clone(blob)
		altered[i] ^= 1
		_, _, err := ring.open("record-1", altered)
		assert.Error(t, err, "byte %d flipped", i)
	}
	_, _, err := ring.open("record-1", blob[:vaultHeader])
	assert.Error(t, err)
}

func TestVaultRotation(t *testing.T) {
	old := testRing(t, secretA)
	blob := old.seal("record-1", []byte("tokens"))

	rotated := testRing(t, secretB, secretA)
	plain, stale, err := rotated.open("record-1", blob)
	require.NoError(t, err)
	assert.True(t, stale, "sealed under a previous secret: seal again on next write")
	assert.Equal(t, "tokens", string(plain))

	resealed := rotated.seal("record-1", plain)
	_, stale, err = rotated.open("record-1", resealed)
	require.NoError(t, err)
	assert.False(t, stale)

	_, _, err = testRing(t, secretB).open("record-1", blob)
	assert.ErrorIs(t, err, errVaultOpen, "once the old secret is dropped its blobs are dead")
}

func TestIndexHashIsKeyed(t *testing.T) {
	a, b := testRing(t, secretA), testRing(t, secretB)
	h := a.current().indexHash(indexSubject, "310999-user")
	assert.Len(t, h, 64)
	assert.NotContains(t, h, "310999")
	assert.NotEqual(t, h, b.current().indexHash(indexSubject, "310999-user"))
	assert.NotEqual(t, h, a.current().indexHash(indexSID, "310999-user"), "namespaces differ")
	assert.Empty(t, a.current().indexHash(indexSubject, ""))
	assert.Equal(t, []string{h, b.current().indexHash(indexSubject, "310999-user")},
		testRing(t, secretA, secretB).indexHashes(indexSubject, "310999-user"))
}

func TestSecretsRedactThemselves(t *testing.T) {
	s := Secret("master-secret-material-0123456789")
	tok := token("eyJhbGciOiJSUzI1NiJ9.payload.signature")
	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	logger.Info("x", "secret", s, "token", tok)
	opts := Options{ClientSecret: "client-secret-value", SecretKey: s}
	logger.Info("opts", "options", opts)

	for _, out := range []string{
		fmt.Sprintf("%v %s %x %+v %#v %q", s, s, s, s, s, s),
		fmt.Sprintf("%v %s %x %+v %#v %q", tok, tok, tok, tok, tok, tok),
		fmt.Sprintf("%v %+v", opts, opts),
		logged.String(),
	} {
		assert.NotContains(t, out, "master-secret")
		assert.NotContains(t, out, "eyJhbGci")
		assert.NotContains(t, out, "client-secret-value")
		assert.True(t, strings.Contains(out, "redacted"), out)
	}
}
