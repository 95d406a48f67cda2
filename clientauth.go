package zenkey

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// With Options.ClientKeyFile the app authenticates to the token and
// revocation endpoints with private_key_jwt (RFC 7523) instead of a secret:
// each request carries a fresh RS256 assertion with iss = sub = client_id,
// aud = the provider's token endpoint, a unique jti and a one-minute
// lifetime. The aud is the token endpoint at the revocation endpoint too:
// ZenKey and OpenID Connect Core (section 9) name it for every assertion,
// and a carrier refuses another.

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// loadClientKey reads the RSA private key in a PEM file (PKCS#1 or
// PKCS#8), refusing a file that other users can read.
func loadClientKey(path string) (*rsa.PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("zenkey: Options.ClientKeyFile: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("zenkey: Options.ClientKeyFile %s is open to other users "+
			"(mode %04o): run chmod 600 %s", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("zenkey: Options.ClientKeyFile: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("zenkey: Options.ClientKeyFile %s holds no PEM block", path)
	}
	if key, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return key, nil
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if rsaKey, ok := key.(*rsa.PrivateKey); ok && err == nil {
		return rsaKey, nil
	}
	return nil, fmt.Errorf("zenkey: Options.ClientKeyFile %s is not an RSA private key "+
		"in PKCS#1 or PKCS#8", path)
}

// newTokenClient is the client for token and revocation requests:
// Options.HTTPClient, with client assertions when ClientKeyFile is set.
func (m *Middleware) newTokenClient() (*http.Client, error) {
	if m.opts.ClientKeyFile == "" {
		return m.opts.HTTPClient, nil
	}
	key, err := loadClientKey(m.opts.ClientKeyFile)
	if err != nil {
		return nil, err
	}
	t, err := newAssertionTransport(m.transport(), key, m.opts.ClientKeyID, m.opts.ClientID, m.now)
	if err != nil {
		return nil, err
	}
	t.tokenEndpointFor = func(revocation string) (string, bool) {
		return m.providers.tokenEndpointFor(revocation)
	}
	return &http.Client{Transport: t, Timeout: m.opts.HTTPClient.Timeout}, nil
}

// assertionTransport adds a client assertion to every form it carries and
// strips any other client credential.
type assertionTransport struct {
	base     http.RoundTripper
	signer   jose.Signer
	clientID string
	now      func() time.Time

	// tokenEndpointFor returns the token endpoint of the provider whose
	// revocation endpoint is the given URL.
	tokenEndpointFor func(revocation string) (string, bool)
}

func newAssertionTransport(base http.RoundTripper, key *rsa.PrivateKey, kid, clientID string,
	now func() time.Time) (*assertionTransport, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		return nil, fmt.Errorf("zenkey: client key: %w", err)
	}
	return &assertionTransport{base: base, signer: signer, clientID: clientID, now: now}, nil
}

// RoundTrip implements http.RoundTripper.
func (t *assertionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Method != http.MethodPost {
		return nil, errors.New("zenkey: client assertions go with POSTed forms only")
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 64<<10))
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("zenkey: token request: %w", err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("zenkey: token request: %w", err)
	}
	aud, err := t.audience(req.URL, form)
	if err != nil {
		return nil, err
	}
	assertion, err := t.assertion(aud)
	if err != nil {
		return nil, err
	}
	form.Del("client_id")
	form.Del("client_secret")
	form.Set("client_assertion_type", assertionType)
	form.Set("client_assertion", assertion)
	encoded := form.Encode()

	out := req.Clone(req.Context())
	out.Header.Del("Authorization")
	out.Body = io.NopCloser(strings.NewReader(encoded))
	out.ContentLength = int64(len(encoded))
	out.GetBody = func() (io.ReadCloser,
		error) {
		return io.NopCloser(bytes.NewReader([]byte(encoded))), nil
	}
	out.Header.Set("Content-Length", strconv.Itoa(len(encoded)))
	return t.base.RoundTrip(out)
}

// audience is the aud of the assertion for a request: the provider's token
// endpoint. A token request (it has a grant_type) is sent there already;
// any other request is a revocation, and is refused unless a provider has
// its URL as revocation endpoint: no assertion is made for an unknown
// endpoint.
func (t *assertionTransport) audience(endpoint *url.URL, form url.Values) (string, error) {
	target := endpointURL(endpoint)
	if form.Has("grant_type") {
		return target, nil
	}
	if aud, ok := t.tokenEndpointFor(target); ok {
		return aud, nil
	}
	return "", fmt.Errorf("zenkey: %s is no provider's revocation endpoint: "+
		"no client assertion is made for it", target)
}

// endpointURL is an endpoint's URL without query or fragment.
func endpointURL(u *url.URL) string {
	e := *u
	e.RawQuery, e.Fragment, e.RawFragment = "", "", ""
	return e.String()
}

// tokenEndpointFor returns the token endpoint of the cached provider whose
// revocation endpoint is revocation.
func (c *providerCache) tokenEndpointFor(revocation string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.by {
		u, err := url.Parse(p.revocationURL)
		if p.revocationURL != "" && err == nil && endpointURL(u) == revocation {
			return p.oauth.Endpoint.TokenURL, true
		}
	}
	return "", false
}

// assertion signs a one-minute assertion for the audience aud.
func (t *assertionTransport) assertion(aud string) (string, error) {
	now := t.now()
	claims := jwt.Claims{
		Issuer:   t.clientID,
		Subject:  t.clientID,
		Audience: jwt.Audience{aud},
		ID:       randomString(24),
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(time.Minute)),
	}
	s, err := jwt.Signed(t.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("zenkey: client assertion: %w", err)
	}
	return s, nil
}
