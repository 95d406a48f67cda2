package zenkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// ErrProviderNotFound means ZenKey's discovery issuer knows no ZenKey
// provider for the user's carrier.
var ErrProviderNotFound = errors.New("zenkey: no ZenKey provider for this carrier")

const (
	providerTTL     = time.Hour // how long a carrier's configuration is cached
	maxProviders    = 256       // bound on cached configurations
	maxDocumentSize = 64 << 10  // discovery documents
)

var mccmncPattern = regexp.MustCompile(`^[0-9]{6}$`)

// A provider is one OpenID provider's configuration: a carrier's, found
// through ZenKey discovery, or the one at Options.Issuer.
type provider struct {
	issuer        string
	mccmnc        string
	userinfoURL   string
	revocationURL string
	endSessionURL string
	oauth         *oauth2.Config
	keys          *keySet
	verifier      *oidc.IDTokenVerifier
	fetched       time.Time
}

// discoveryDocument is an OpenID configuration as ZenKey's discovery issuer
// or a standard provider returns it.
type discoveryDocument struct {
	Issuer                string     `json:"issuer"`
	AuthorizationEndpoint string     `json:"authorization_endpoint"`
	TokenEndpoint         string     `json:"token_endpoint"`
	UserinfoEndpoint      string     `json:"userinfo_endpoint"`
	JWKSURI               string     `json:"jwks_uri"`
	RevocationEndpoint    string     `json:"revocation_endpoint"`
	EndSessionEndpoint    string     `json:"end_session_endpoint"`
	MCCMNC                flexString `json:"mccmnc"`
	Error                 string     `json:"error"`
}

// flexString accepts a JSON string or number: the carriers' own fixtures
// send mccmnc as a number.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *flexString) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*s = flexString(n)
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("zenkey: mccmnc is neither a string nor a number")
	}
	*s = flexString(str)
	return nil
}

// providerCache keeps provider configurations per mccmnc ("" in issuer
// mode) for providerTTL.
type providerCache struct {
	m  *Middleware
	mu sync.Mutex
	by map[string]*provider
}

func newProviderCache(m *Middleware) *providerCache {
	return &providerCache{m: m, by: make(map[string]*provider)}
}

// get returns the configuration for a carrier (or the issuer), fetching it
// when it is missing or older than providerTTL.
func (c *providerCache) get(ctx context.Context, mccmnc string) (*provider, error) {
	now := c.m.now()
	c.mu.Lock()
	p := c.by[mccmnc]
	c.mu.Unlock()
	if p != nil && now.Sub(p.fetched) < providerTTL {
		return p, nil
	}
	fresh, err := c.m.discover(ctx, mccmnc)
	if err != nil {
		return nil, err
	}
	if p != nil && p.keys.url == fresh.keys.url {
		fresh.keys = p.keys // keep the keys already fetched
		fresh.verifier = c.m.newVerifier(fresh.issuer, fresh.keys)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.by) >= maxProviders {
		clear(c.by)
	}
	c.by[mccmnc] = fresh
	return fresh, nil
}

// discover fetches a provider's configuration: from ZenKey's discovery
// issuer for a carrier, or from Options.Issuer's well-known document.
func (m *Middleware) discover(ctx context.Context, mccmnc string) (*provider, error) {
	var target string
	if m.opts.Issuer != "" {
		target = trimSlash(m.opts.Issuer) + "/.well-known/openid-configuration"
	} else {
		if !mccmncPattern.MatchString(mccmnc) {
			return nil, fmt.Errorf("zenkey: carrier code %q is not six digits", mccmnc)
		}
		q := url.Values{"client_id": {m.opts.ClientID}, "mccmnc": {mccmnc}}
		target = m.opts.DiscoveryURL + "?" + q.Encode()
	}
	doc, err := m.fetchDocument(ctx, target)
	if err != nil {
		return nil, err
	}
	if err := m.checkDocument(doc, mccmnc); err != nil {
		return nil, err
	}
	return m.newProvider(doc, mccmnc), nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// fetchDocument GETs a discovery document, reading at most maxDocumentSize.
func (m *Middleware) fetchDocument(ctx context.Context, target string) (*discoveryDocument, error) {
	body, status, err := m.getJSON(ctx, target, maxDocumentSize)
	if err != nil {
		return nil, fmt.Errorf("zenkey: provider discovery: %w", err)
	}
	var doc discoveryDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("zenkey: provider discovery: HTTP %d, not a JSON document: %w",
			status, err)
	}
	if doc.Error == "provider_not_found" {
		return nil, ErrProviderNotFound
	}
	if status != http.StatusOK || doc.Error != "" {
		return nil, fmt.Errorf("zenkey: provider discovery: HTTP %d, error %q", status, doc.Error)
	}
	return &doc, nil
}

// getJSON makes a GET request to a provider and reads at most limit bytes
// of the answer.
func (m *Middleware) getJSON(ctx context.Context, target string, limit int64) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := m.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body, limit)
	return body, resp.StatusCode, err
}

// readLimited reads r to its end, at most limit bytes: a longer answer is
// an error, not a truncated document.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("answer larger than %d bytes", limit)
	}
	return body, nil
}

// checkDocument refuses a configuration that names another issuer or
// carrier than asked for, or whose endpoints are missing or insecure.
func (m *Middleware) checkDocument(doc *discoveryDocument, mccmnc string) error {
	if m.opts.Issuer != "" && doc.Issuer != m.opts.Issuer {
		return fmt.Errorf("zenkey: provider discovery: issuer %q is not the configured %q",
			doc.Issuer, m.opts.Issuer)
	}
	if m.opts.Issuer == "" && doc.MCCMNC != "" && string(doc.MCCMNC) != mccmnc {
		return fmt.Errorf("zenkey: provider discovery: asked for carrier %s, got %s", mccmnc,
			doc.MCCMNC)
	}
	required := map[string]string{
		"issuer":                 doc.Issuer,
		"authorization_endpoint": doc.AuthorizationEndpoint,
		"token_endpoint":         doc.TokenEndpoint,
		"jwks_uri":               doc.JWKSURI,
	}
	for name, u := range required {
		if err := checkProviderURL(name, u); err != nil {
			return fmt.Errorf("zenkey: provider discovery: %w", err)
		}
	}
	for name, u := range map[string]string{
		"userinfo_endpoint":    doc.UserinfoEndpoint,
		"revocation_endpoint":  doc.RevocationEndpoint,
		"end_session_endpoint": doc.EndSessionEndpoint,
	} {
		if u == "" {
			continue
		}
		if err := checkProviderURL(name, u); err != nil {
			return fmt.Errorf("zenkey: provider discovery: %w", err)
		}
	}
	return nil
}

func (m *Middleware) newProvider(doc *discoveryDocument, mccmnc string) *provider {
	keys := newKeySet(doc.JWKSURI, m.opts.HTTPClient, m.now)
	return &provider{
		issuer:        doc.Issuer,
		mccmnc:        mccmnc,
		userinfoURL:   doc.UserinfoEndpoint,
		revocationURL: doc.RevocationEndpoint,
		endSessionURL: doc.EndSessionEndpoint,
		oauth: &oauth2.Config{
			ClientID:     m.opts.ClientID,
			ClientSecret: m.opts.ClientSecret,
			RedirectURL:  m.opts.RedirectURL,
			Scopes:       m.opts.Scopes,
			Endpoint: oauth2.Endpoint{
				AuthURL:  doc.AuthorizationEndpoint,
				TokenURL: doc.TokenEndpoint,
				// client_secret_basic, with no client_id in the body: a
				// carrier rejects a request that repeats it.
				AuthStyle: oauth2.AuthStyleInHeader,
			},
		},
		keys:     keys,
		verifier: m.newVerifier(doc.Issuer, keys),
		fetched:  m.now(),
	}
}

// newVerifier returns go-oidc's verifier for signature, iss and aud. The
// expiry check is ours (verifyIDToken), with an explicit leeway.
func (m *Middleware) newVerifier(issuer string, keys *keySet) *oidc.IDTokenVerifier {
	return oidc.NewVerifier(issuer, keys, &oidc.Config{
		ClientID:             m.opts.ClientID,
		SupportedSigningAlgs: []string{oidc.RS256},
		SkipExpiryCheck:      true,
		Now:                  m.now,
	})
}
