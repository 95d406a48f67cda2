package zenkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	// keyRefetchInterval limits JWKS fetches caused by unknown key ids, so
	// tokens with random kids cannot make the app hammer the provider.
	keyRefetchInterval = 30 * time.Second
	maxJWKSSize        = 256 << 10
)

var errUnknownKey = errors.New("zenkey: token signed with a key the provider does not publish")

// A keySet holds a provider's published signing keys. It implements
// go-oidc's KeySet: it fetches the JWKS on first use, and again when a
// token names an unknown key, at most once per keyRefetchInterval.
type keySet struct {
	url    string
	client *http.Client
	now    func() time.Time

	fetch   sync.Mutex // one fetch at a time
	mu      sync.RWMutex
	keys    []jose.JSONWebKey
	last    time.Time // of the last fetch, successful or not
	lastErr error     // of the last fetch
}

func newKeySet(url string, client *http.Client, now func() time.Time) *keySet {
	return &keySet{url: url, client: client, now: now}
}

// VerifySignature checks the JWS signature of jwt with a published RS256
// key and returns its payload.
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSigned(jwt, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("zenkey: malformed token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("zenkey: token must have exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	key, seen := k.find(kid)
	if key == nil {
		if err := k.refresh(ctx, seen); err != nil {
			return nil, err
		}
		if key, _ = k.find(kid); key == nil {
			return nil, errUnknownKey
		}
	}
	return jws.Verify(key)
}

// find returns the signing key with the id, and the time of the fetch it
// looked in. An empty kid matches only a provider's single key.
func (k *keySet) find(kid string) (*jose.JSONWebKey, time.Time) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if kid == "" && len(k.keys) == 1 {
		return &k.keys[0], k.last
	}
	for i := range k.keys {
		if kid != "" && k.keys[i].KeyID == kid {
			return &k.keys[i], k.last
		}
	}
	return nil, k.last
}

// refresh fetches the key set again unless another caller did since seen,
// or the last fetch was less than keyRefetchInterval ago.
func (k *keySet) refresh(ctx context.Context, seen time.Time) error {
	k.fetch.Lock()
	defer k.fetch.Unlock()
	k.mu.RLock()
	last := k.last
	k.mu.RUnlock()
	if last != seen {
		return nil // fetched meanwhile: look again
	}
	if !last.IsZero() && k.now().Sub(last) < keyRefetchInterval {
		return errUnknownKey
	}
	keys, err := k.download(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.last, k.lastErr = k.now(), err
	if err != nil {
		return err
	}
	k.keys = keys
	return nil
}

// prepare makes sure the key named kid has been looked for: it fetches the
// key set when the key is unknown (within the refetch limit). It fails only
// when the provider's keys cannot be fetched, which is the provider's
// outage, not a bad token.
func (k *keySet) prepare(ctx context.Context, kid string) error {
	key, seen := k.find(kid)
	if key != nil {
		return nil
	}
	err := k.refresh(ctx, seen)
	if errors.Is(err, errUnknownKey) {
		k.mu.RLock()
		err = k.lastErr // refused by the limit: unavailable if the last fetch failed
		k.mu.RUnlock()
	}
	if err != nil {
		return reject(reasonProviderDown, "zenkey: provider keys unavailable: %w", err)
	}
	return nil
}

// download reads the JWKS and keeps its RSA signing keys.
func (k *keySet) download(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("zenkey: provider keys: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("zenkey: provider keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("zenkey: provider keys: HTTP %d", resp.StatusCode)
	}
	body, err := readLimited(resp.Body, maxJWKSSize)
	if err != nil {
		return nil, fmt.Errorf("zenkey: provider keys: %w", err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("zenkey: provider keys: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, key := range set.Keys {
		if key.Use != "enc" && key.Valid() && key.IsPublic() {
			keys = append(keys, key)
		}
	}
	return keys, nil
}
