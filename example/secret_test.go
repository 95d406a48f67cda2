package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
)

// sqliteConfig is a config whose SQLite file, and so key file, is in dir.
func sqliteConfig(dir string) config {
	return config{Store: storeSpec{storeSQLite, filepath.Join(dir, "sessions.db")}}
}

func TestMasterSecretFromTheEnvironmentWritesNoFile(t *testing.T) {
	dir := t.TempDir()
	c := sqliteConfig(dir)
	c.SecretKey = zenkey.Secret(strings.Repeat("k", 32))

	key, from, err := masterSecret(c)
	require.NoError(t, err)
	assert.Equal(t, c.SecretKey, key)
	assert.Equal(t, "ZENKEY_SECRET_KEY", from)
	assert.NoFileExists(t, c.keyFile())
}

func TestMasterSecretIsCreatedOnceWithMode0600(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // missing: created 0700
	c := sqliteConfig(dir)

	key, from, err := masterSecret(c)
	require.NoError(t, err)
	assert.Len(t, key, 32)
	assert.Equal(t, c.keyFile()+" (created)", from)
	assertMode(t, c.keyFile(), 0o600)
	assertMode(t, dir, 0o700)

	text, err := os.ReadFile(c.keyFile())
	require.NoError(t, err)
	stored, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	require.NoError(t, err)
	assert.Equal(t, []byte(key), stored, "kept in base64")

	again, from, err := masterSecret(c)
	require.NoError(t, err)
	assert.Equal(t, key, again, "a restart finds the same secret")
	assert.Equal(t, c.keyFile(), from)
}

func TestKeyFileOthersCanReachIsRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o620, 0o604} {
		c := sqliteConfig(t.TempDir())
		_, _, err := masterSecret(c)
		require.NoError(t, err)
		text, _ := os.ReadFile(c.keyFile())
		require.NoError(t, os.Chmod(c.keyFile(), mode))

		_, _, err = masterSecret(c)
		require.Error(t, err, "mode %04o", mode)
		assert.Contains(t, err.Error(), "run chmod 600 "+c.keyFile())
		assert.NotContains(t, err.Error(), strings.TrimSpace(string(text)),
			"the error shows no secret")
	}
}

func TestKeyFileTooShortIsRefused(t *testing.T) {
	c := sqliteConfig(t.TempDir())
	require.NoError(t, os.WriteFile(c.keyFile(), []byte("c2hvcnQ=\n"), 0o600))
	_, _, err := masterSecret(c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "holds 5 bytes")
}

func TestDecodeKeyAcceptsEveryBase64(t *testing.T) {
	raw := make([]byte, 33)
	for i := range raw {
		raw[i] = byte(250 - i) // encodes with + and /, or - and _
	}
	for _, enc := range keyEncodings {
		key, err := decodeKey("test", " "+enc.EncodeToString(raw)+"\n")
		require.NoError(t, err)
		assert.Equal(t, raw, []byte(key))
	}
}

func TestClientSecretFile(t *testing.T) {
	secret, err := readClientSecret(writeFile(t, "secret", "  s3cret\n", 0o600))
	require.NoError(t, err)
	assert.Equal(t, zenkey.Secret("s3cret"), secret)

	_, err = readClientSecret(writeFile(t, "secret", "\n", 0o600))
	assert.ErrorContains(t, err, "is empty")

	path := writeFile(t, "secret", "s3cret", 0o644)
	_, err = readClientSecret(path)
	assert.ErrorContains(t, err, "run chmod 600 "+path)
	assert.NotContains(t, err.Error(), "s3cret")
}

// assertMode checks the permission bits of the file at path.
func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, want, info.Mode().Perm(), "mode of %s", path)
}
