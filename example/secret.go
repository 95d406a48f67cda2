package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/zenkey-go/zenkey"
)

const (
	// keyFileName is the file that keeps a generated master secret.
	keyFileName = "zenkey-example.key"

	// keyBytes is the size of a generated master secret, and the least a
	// configured one must have.
	keyBytes = 32

	// maxSecretFile caps what is read from a secret file.
	maxSecretFile = 4 << 10
)

// keyEncodings are the forms of base64 a master secret may be written in:
// standard or URL-safe, with or without padding.
var keyEncodings = []*base64.Encoding{
	base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
}

// masterSecret returns the master secret and says where it came from:
// ZENKEY_SECRET_KEY, or the key file, which is created on the first run.
func masterSecret(c config) (key zenkey.Secret, from string, err error) {
	if c.SecretKey != nil {
		return c.SecretKey, "ZENKEY_SECRET_KEY", nil
	}
	path := c.keyFile()
	key, err = readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, path, err
	}
	key, err = createKeyFile(path)
	return key, path + " (created)", err
}

// readKeyFile reads a master secret from the file at path.
func readKeyFile(path string) (zenkey.Secret, error) {
	text, err := readPrivateFile(path)
	if err != nil {
		return nil, err
	}
	return decodeKey(path, string(text))
}

// createKeyFile generates a master secret and writes it, in base64, to a new
// file at path with mode 0600, in a directory created with mode 0700 when
// it is missing.
func createKeyFile(path string) (zenkey.Secret, error) {
	key := make(zenkey.Secret, keyBytes)
	rand.Read(key) // never returns an error since Go 1.24
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("example: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("example: %w", err)
	}
	_, err = io.WriteString(f, base64.StdEncoding.EncodeToString(key)+"\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("example: writing the key file: %w", err)
	}
	return key, nil
}

// readClientSecret reads the client secret from ZENKEY_CLIENT_SECRET_FILE.
func readClientSecret(path string) (zenkey.Secret, error) {
	text, err := readPrivateFile(path)
	if err != nil {
		return nil, err
	}
	secret := strings.TrimSpace(string(text))
	if secret == "" {
		return nil, fmt.Errorf("example: ZENKEY_CLIENT_SECRET_FILE %s is empty", path)
	}
	return zenkey.Secret(secret), nil
}

// readPrivateFile reads a file that holds a secret. It refuses the file when
// other users may read or change it, with the command that fixes that: a
// secret others can read is no longer one, and one they can change lets them
// choose it.
func readPrivateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("example: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("example: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("example: %s holds a secret but other users can reach it "+
			"(mode %04o): run chmod 600 %s, and replace the secret if someone else may have "+
			"read it", path, perm, path)
	}
	return io.ReadAll(io.LimitReader(f, maxSecretFile))
}

// decodeKey decodes a master secret written in base64 by the source named
// name. The error never shows the text: it may be most of a secret.
func decodeKey(name, text string) (zenkey.Secret, error) {
	text = strings.TrimSpace(text)
	for _, enc := range keyEncodings {
		key, err := enc.DecodeString(text)
		if err != nil {
			continue
		}
		if len(key) < keyBytes {
			return nil, fmt.Errorf("example: %s holds %d bytes: the master secret needs "+
				"at least %d random bytes, such as the output of: openssl rand -base64 %d",
				name, len(key), keyBytes, keyBytes)
		}
		return key, nil
	}
	return nil, fmt.Errorf("example: %s is not base64: write the master secret in base64, "+
		"such as the output of: openssl rand -base64 %d", name, keyBytes)
}
