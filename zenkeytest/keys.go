package zenkeytest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/go-jose/go-jose/v4"
)

// signingKey is an RSA key and the kid that names it in the JWKS.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

// newSigningKey makes a 2048-bit RSA key with a random kid.
func newSigningKey() *signingKey {
	return &signingKey{id: rand.Text()[:16], key: newRSAKey()}
}

// newRSAKey makes a 2048-bit RSA key. Generation reads crypto/rand, which does
// not fail, so an error here is a broken runtime.
func newRSAKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("zenkeytest: generating an RSA key: " + err.Error())
	}
	return k
}

// keyRing holds the provider's keys: the one that signs, and every key whose
// public half the JWKS publishes.
type keyRing struct {
	current   *signingKey
	published []*signingKey // newest first; holds current
}

// initKeys makes the first signing key when it is first needed. An RSA key
// takes a sizeable fraction of a second to generate, which a test that never
// gets to the token endpoint need not wait for.
func (s *Server) initKeys() {
	s.keysOnce.Do(func() {
		k := newSigningKey()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.keys = keyRing{current: k, published: []*signingKey{k}}
	})
}

// RotateKey makes a new RSA key, with a new kid, sign everything from now on.
// With keepOld the JWKS keeps publishing the older keys, so tokens they signed
// still verify; without it the JWKS holds the new key alone.
func (s *Server) RotateKey(keepOld bool) {
	s.initKeys()
	k := newSigningKey() // slow: made before taking the lock
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys.current = k
	if keepOld {
		s.keys.published = slices.Insert(s.keys.published, 0, k)
	} else {
		s.keys.published = []*signingKey{k}
	}
}

// SignWithUnpublishedKey makes everything the server signs later carry a bad
// signature: with on, tokens are signed by a fresh key the JWKS never
// publishes, under the kid of the current, published key. Off, or
// [Server.Heal], restores the published key. The port tokens of the carriers
// added by [Server.AddPreviousCarrier] are signed with their own keys, which
// it does not affect.
func (s *Server) SignWithUnpublishedKey(on bool) {
	var rogue *rsa.PrivateKey
	if on {
		rogue = newRSAKey()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sw.rogueKey = rogue
}

// HideKeys makes the JWKS publish an empty key set while on, as a provider
// whose keys vanished does: tokens are still signed with the current key,
// which no relying party can then fetch. Off, or [Server.Heal], publishes the
// keys again. The carriers added by [Server.AddPreviousCarrier] keep
// publishing theirs.
func (s *Server) HideKeys(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sw.hideKeys = on
}

// handleJWKS publishes the public keys, as a JSON Web Key Set.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	s.initKeys()
	s.mu.Lock()
	published := s.keys.published
	if s.sw.hideKeys {
		published = nil
	}
	set := keySet(published...)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

// keySet is the JSON Web Key Set that publishes the public halves of keys:
// {"keys":[]} for none.
func keySet(keys ...*signingKey) jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key: &k.key.PublicKey, KeyID: k.id, Algorithm: string(jose.RS256), Use: "sig",
		})
	}
	return set
}

// sign encodes claims and signs them with RS256, the kid of the current key and
// the typ header, in compact serialization. While SignWithUnpublishedKey is on,
// the unpublished key signs instead.
func (s *Server) sign(claims map[string]any, typ string) (string, error) {
	s.initKeys()
	s.mu.Lock()
	kid, key := s.keys.current.id, s.keys.current.key
	if s.sw.rogueKey != nil {
		key = s.sw.rogueKey
	}
	s.mu.Unlock()
	return signJWT(claims, typ, kid, key)
}

// signJWT encodes claims and signs them with RS256 and key, under the kid and
// typ headers, in compact serialization.
func signJWT(claims map[string]any, typ, kid string, key *rsa.PrivateKey) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("zenkeytest: encoding claims: %w", err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("zenkeytest: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("zenkeytest: signing: %w", err)
	}
	return jws.CompactSerialize()
}

// mustSign is sign for the exported helpers, whose callers pass claims they
// chose: claims that cannot be encoded are a mistake in the test.
func (s *Server) mustSign(claims map[string]any, typ string) string {
	jwt, err := s.sign(claims, typ)
	if err != nil {
		panic(err)
	}
	return jwt
}
