package zenkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/gorilla/securecookie"
)

// A Secret is key material. It prints and logs as "[redacted]", so a
// struct holding one can be logged without leaking it.
type Secret []byte

// String returns "[redacted]".
func (Secret) String() string { return "[redacted]" }

// GoString returns "[redacted]".
func (Secret) GoString() string { return "[redacted]" }

// Format writes "[redacted]" for every verb, %x and %s included.
func (Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// LogValue makes slog print "[redacted]".
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// HKDF labels: each use of the master secret gets its own key.
const (
	labelCookie = "zenkey/v1 session cookie HMAC-SHA256"
	labelVault  = "zenkey/v1 token vault AES-256-GCM"
	labelIndex  = "zenkey/v1 store index HMAC-SHA256"
	labelKeyID  = "zenkey/v1 key id"
)

// derivedKeys are the keys of one master secret.
type derivedKeys struct {
	id     [4]byte // names the master secret inside every ciphertext
	cookie *securecookie.SecureCookie
	// session writes and checks the session cookie: the same format and
	// key as cookie, which the login cookie still uses.
	session *sessionCodec
	aead    cipher.AEAD
	index   []byte
}

// A keyring holds the derived keys of the current master secret first and
// of the previous ones after it.
type keyring []*derivedKeys

func newKeyring(current Secret, previous []Secret, maxAge int) (keyring, error) {
	var ring keyring
	for _, secret := range append([]Secret{current}, previous...) {
		k, err := deriveKeys(secret, maxAge)
		if err != nil {
			return nil, err
		}
		ring = append(ring, k)
	}
	return ring, nil
}

func deriveKeys(secret []byte, maxAge int) (*derivedKeys, error) {
	derive := func(label string, n int) []byte {
		k, err := hkdf.Key(sha256.New, secret, nil, label, n)
		if err != nil { // only for absurd lengths, never ours
			panic(err)
		}
		return k
	}
	block, err := aes.NewCipher(derive(labelVault, 32))
	if err != nil {
		return nil, fmt.Errorf("zenkey: vault key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("zenkey: vault key: %w", err)
	}
	k := &derivedKeys{aead: aead, index: derive(labelIndex, 32)}
	copy(k.id[:], derive(labelKeyID, 4))
	// The cookie holds only a random id: authenticating it is what
	// matters, so it is signed and not encrypted.
	cookieKey := derive(labelCookie, 64)
	k.cookie = securecookie.New(cookieKey, nil).
		SetSerializer(securecookie.NopEncoder{}).
		MaxAge(maxAge).
		MaxLength(maxCookieLen)
	k.session = newSessionCodec(cookieName, cookieKey, maxAge)
	return k, nil
}

// current returns the keys new data is sealed and signed with.
func (ring keyring) current() *derivedKeys { return ring[0] }

// indexHash is the keyed hash under which the store indexes a subject or a
// provider session id. kind separates the two namespaces.
func (k *derivedKeys) indexHash(kind, value string) string {
	if value == "" {
		return ""
	}
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// indexHashes returns value's index hash under every key of the ring, so a
// lookup also finds records not yet sealed again after a rotation.
func (ring keyring) indexHashes(kind, value string) []string {
	hashes := make([]string, 0, len(ring))
	for _, k := range ring {
		hashes = append(hashes, k.indexHash(kind, value))
	}
	return hashes
}
