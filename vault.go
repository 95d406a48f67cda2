package zenkey

import (
	"crypto/rand"
	"errors"
)

// The vault seals session data before it reaches a store: AES-256-GCM under
// a key derived from the master secret, with the record's key as associated
// data, so a blob copied into another record does not open.
//
// A sealed blob is: version (1 byte) | key id (4) | nonce (12) | ciphertext.

const (
	vaultVersion  = 1
	vaultNonceLen = 12
	vaultHeader   = 1 + 4 + vaultNonceLen
)

var errVaultOpen = errors.New("zenkey: session record does not decrypt (wrong key, altered or " +
	"moved)")

// seal encrypts plaintext for the record with the given key.
func (ring keyring) seal(recordKey string, plaintext []byte) []byte {
	k := ring.current()
	out := make([]byte, vaultHeader, vaultHeader+len(plaintext)+k.aead.Overhead())
	out[0] = vaultVersion
	copy(out[1:5], k.id[:])
	rand.Read(out[5:vaultHeader])
	return k.aead.Seal(out, out[5:vaultHeader], plaintext, vaultAAD(recordKey))
}

// open decrypts a blob sealed for the record with the given key. stale
// reports that it was sealed under a previous master secret and should be
// sealed again on the record's next write.
func (ring keyring) open(recordKey string, blob []byte) (plaintext []byte, stale bool, err error) {
	if len(blob) < vaultHeader || blob[0] != vaultVersion {
		return nil, false, errVaultOpen
	}
	for i, k := range ring {
		if [4]byte(blob[1:5]) != k.id {
			continue
		}
		nonce, sealed := blob[5:vaultHeader], blob[vaultHeader:]
		plaintext, err := k.aead.Open(nil, nonce, sealed, vaultAAD(recordKey))
		if err != nil {
			return nil, false, errVaultOpen
		}
		return plaintext, i > 0, nil
	}
	return nil, false, errVaultOpen
}

func vaultAAD(recordKey string) []byte {
	return append([]byte("zenkey/v1 record\x00"), recordKey...)
}
