package zenkey

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The real ZenKey endpoints, used when Options leaves them empty.
const (
	DefaultDiscoveryUIURL = "https://discoveryui.myzenkey.com/ui/discovery-ui"
	DefaultDiscoveryURL   = "https://discoveryissuer.myzenkey.com/.well-known/openid_configuration"
)

// Options configures a [Middleware]. The zero value of every field other than
// ClientID, ClientSecret, RedirectURL and SecretKey is a safe default; [New]
// validates the whole struct once.
type Options struct {
	// ClientID and ClientSecret are the credentials ZenKey (or the provider
	// named by Issuer) issued for this app. The secret is sent with HTTP
	// Basic authentication (client_secret_basic). Both are required.
	ClientID     string
	ClientSecret string

	// ClientKeyFile switches client authentication to private_key_jwt: the
	// path of a PEM file (PKCS#1 or PKCS#8) holding the RSA private key
	// registered with the provider, readable by its owner only. Each token
	// and revocation request then carries a fresh RS256 assertion, and
	// ClientSecret is not needed. Default none.
	ClientKeyFile string

	// ClientKeyID is the kid in the assertions' header, when the provider
	// knows the key by one. Default none.
	ClientKeyID string

	// RedirectURL is the absolute callback URL registered with the provider,
	// such as "https://app.example/auth/callback". It must use https unless
	// its host is a loopback address or "localhost". The middleware serves
	// the callback at its path, which must be its own: not "/", nor
	// LoginPath, LogoutPath or BackchannelLogoutPath. Required.
	RedirectURL string

	// SecretKey is the master secret, at least 32 random bytes. The cookie
	// key, the token encryption key and the index key are derived from it
	// with HKDF, each under its own label. Required.
	SecretKey Secret

	// PreviousSecretKeys are older master secrets, newest first. Cookies and
	// session records sealed under them are still accepted; records are
	// sealed again under SecretKey on their next write. Default none.
	PreviousSecretKeys []Secret

	// Issuer switches from ZenKey carrier discovery to plain OpenID Connect
	// discovery at this issuer URL; the discovered issuer must equal it
	// exactly. Default empty: carrier discovery.
	Issuer string

	// DiscoveryUIURL and DiscoveryURL locate ZenKey's carrier discovery UI
	// and discovery issuer. Default the real ZenKey endpoints.
	DiscoveryUIURL string
	DiscoveryURL   string

	// Scopes requested at login. Default "openid offline_access": the
	// refresh token lets the app call APIs after the access token expires.
	// ZenKey also offers name, email, phone, postal_code, address and
	// birthdate. "openid" is added when missing.
	Scopes []string

	// ACR is the authentication context requested with acr_values, and the
	// least the id_token's acr must show. ZenKey offers "a1" (low) and "a3"
	// (PIN or biometric); "a2" is refused. Default "a3" with carrier
	// discovery, and none (not sent, not checked) with Issuer.
	ACR string

	// Context is the text ZenKey shows the user while they approve the
	// login, at most 280 characters. Default none.
	Context string

	// Store keeps the sessions and pending logins. Default an in-memory
	// store, which loses every session when the process ends; use a
	// persistent store such as sqlitestore in production.
	Store Store

	// StoreTimeout bounds each call the middleware makes to the store; one
	// that takes longer fails, and the request gets a 503 rather than hang.
	// Default 5 seconds.
	StoreTimeout time.Duration

	// IdleTimeout ends a session that saw no request for this long.
	// Default 30 minutes.
	IdleTimeout time.Duration

	// AbsoluteTimeout ends a session this long after login, however active.
	// Default 12 hours.
	AbsoluteTimeout time.Duration

	// LoginPath and LogoutPath are the paths the middleware serves for
	// starting a login and for logging out, each its own. Defaults
	// "/auth/login" and "/auth/logout".
	LoginPath  string
	LogoutPath string

	// AllowLogoutEverywhere lets a signed-in user end all of their sessions
	// at once: a POST to LogoutPath with the form field everywhere=1.
	// Default false.
	AllowLogoutEverywhere bool

	// ProviderLogout sends the browser, after logout, to the provider's
	// end_session_endpoint (OpenID RP-Initiated Logout) when it publishes
	// one, to come back to AfterLogoutURL. ZenKey publishes none. Default
	// false.
	ProviderLogout bool

	// BackchannelLogoutPath is where the provider posts back-channel logout
	// tokens (OpenID Back-Channel Logout), served with Options.Issuer only.
	// Default "/auth/backchannel-logout".
	BackchannelLogoutPath string

	// AfterLogoutURL is the local path the browser is sent to after logout.
	// Default "/".
	AfterLogoutURL string

	// ClockLeeway is how far the provider's clock may differ from ours when
	// checking exp, iat and auth_time. Default 1 minute; at most 5 minutes.
	ClockLeeway time.Duration

	// RefreshSkew is how long before the access token's expiry it is
	// refreshed, so that a token handed to an API call does not expire on
	// the way. Default 1 minute.
	RefreshSkew time.Duration

	// APIOrigins are the origins ("https://api.example", scheme, host and
	// port) that [Session.Client] may send the session's tokens to. A
	// request to any other origin, also after a redirect, is refused.
	// Default none.
	APIOrigins []string

	// IDTokenHeader, when set, is a request header in which
	// [Session.Client] and [Middleware.APIProxy] also forward the
	// session's id_token, such as "X-Id-Token". Default none.
	IDTokenHeader string

	// UserInfoTTL is how long [Session.UserInfo] keeps the provider's
	// answer in the session before asking again. Default 0: every call
	// asks the provider.
	UserInfoTTL time.Duration

	// HTTPClient makes every call to the provider: discovery, keys, code
	// exchange, refresh, userinfo and revocation. Default a client with a
	// 10 second timeout. A client whose Timeout is 0 is used through a copy
	// with that 10 second timeout, so that no call to the provider can hang:
	// set its Timeout to choose another. [Session.Client] uses its
	// transport and timeout too. Responses are read up to a size limit
	// either way.
	HTTPClient *http.Client

	// OnEvent, when set, receives every event (sign-ins, rejections with
	// their reason, refreshes, logouts, store and provider failures) as an
	// [Event] struct, synchronously: it must be quick and safe for
	// concurrent use. Default nil.
	OnEvent func(Event)

	// Logger receives structured events. Default nil: nothing is logged.
	// No event ever carries a token, a secret or a session id.
	Logger *slog.Logger

	// Now is the clock. Default time.Now; tests set it to move time.
	Now func() time.Time
}

// Fixed limits; they are not options because no app needs to change them.
const (
	cookieName      = "__Host-zenkey"
	loginCookieName = "__Host-zenkey-login"
	flowLifetime    = 10 * time.Minute
	maxPendingFlows = 5
	minSecretLen    = 32
	maxContextLen   = 280
)

// withDefaults returns a copy of o with every empty field set to its default.
func (o Options) withDefaults() Options {
	o.DiscoveryUIURL = cmp.Or(o.DiscoveryUIURL, DefaultDiscoveryUIURL)
	o.DiscoveryURL = cmp.Or(o.DiscoveryURL, DefaultDiscoveryURL)
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"openid", "offline_access"}
	} else if !slices.Contains(o.Scopes, "openid") {
		o.Scopes = append([]string{"openid"}, o.Scopes...)
	}
	if o.ACR == "" && o.Issuer == "" {
		o.ACR = "a3"
	}
	o.StoreTimeout = cmp.Or(o.StoreTimeout, 5*time.Second)
	o.IdleTimeout = cmp.Or(o.IdleTimeout, 30*time.Minute)
	o.AbsoluteTimeout = cmp.Or(o.AbsoluteTimeout, 12*time.Hour)
	o.LoginPath = cmp.Or(o.LoginPath, "/auth/login")
	o.LogoutPath = cmp.Or(o.LogoutPath, "/auth/logout")
	o.AfterLogoutURL = cmp.Or(o.AfterLogoutURL, "/")
	o.BackchannelLogoutPath = cmp.Or(o.BackchannelLogoutPath, "/auth/backchannel-logout")
	o.ClockLeeway = cmp.Or(o.ClockLeeway, time.Minute)
	o.RefreshSkew = cmp.Or(o.RefreshSkew, time.Minute)
	o.HTTPClient = boundedClient(o.HTTPClient)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// defaultProviderTimeout bounds each call to the provider when
// Options.HTTPClient sets no timeout of its own.
const defaultProviderTimeout = 10 * time.Second

// boundedClient returns c when it has a timeout, or else a copy of c with
// defaultProviderTimeout: a provider that never answers must not hold a
// request, or a logout's revocation, forever. The copy leaves the app's
// client as it was.
func boundedClient(c *http.Client) *http.Client {
	if c == nil {
		return &http.Client{Timeout: defaultProviderTimeout}
	}
	if c.Timeout != 0 {
		return c
	}
	bounded := *c
	bounded.Timeout = defaultProviderTimeout
	return &bounded
}

// validate reports every mistake in o (after defaults) at once, each saying
// what to fix.
func (o *Options) validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("zenkey: "+format, args...))
	}
	if o.ClientID == "" {
		add("Options.ClientID is empty: set the client id ZenKey issued for this app")
	}
	if o.ClientSecret == "" && o.ClientKeyFile == "" {
		add("Options.ClientSecret is empty: set the client secret ZenKey issued for this app, or " +
			"Options.ClientKeyFile for private_key_jwt")
	}
	if err := checkRedirectURL(o.RedirectURL); err != nil {
		errs = append(errs, err)
	}
	if len(o.SecretKey) < minSecretLen {
		add("Options.SecretKey has %d bytes: use at least %d random bytes", len(o.SecretKey),
			minSecretLen)
	}
	for i, k := range o.PreviousSecretKeys {
		if len(k) < minSecretLen {
			add("Options.PreviousSecretKeys[%d] has %d bytes: each needs at least %d", i, len(k),
				minSecretLen)
		}
	}
	errs = append(errs, o.validateProvider()...)
	errs = append(errs, o.validateSession()...)
	return errors.Join(errs...)
}

func (o *Options) validateProvider() []error {
	var errs []error
	if o.Issuer != "" {
		if err := checkProviderURL("Options.Issuer", o.Issuer); err != nil {
			errs = append(errs, err)
		}
	} else {
		for name, u := range map[string]string{
			"Options.DiscoveryUIURL": o.DiscoveryUIURL,
			"Options.DiscoveryURL":   o.DiscoveryURL,
		} {
			if err := checkProviderURL(name, u); err != nil {
				errs = append(errs, err)
			}
		}
	}
	switch o.ACR {
	case "", "a1", "a3":
	case "a2":
		errs = append(errs, errors.New(`zenkey: Options.ACR "a2" must not be used with ZenKey: `+
			`use "a3" (PIN or biometric) or "a1"`))
	default:
		if o.Issuer == "" {
			errs = append(errs, fmt.Errorf(`zenkey: Options.ACR %q is not a ZenKey value: use `+
				`"a3" or "a1"`, o.ACR))
		}
	}
	if n := len([]rune(o.Context)); n > maxContextLen {
		errs = append(errs, fmt.Errorf("zenkey: Options.Context has %d characters: ZenKey shows "+
			"at most %d", n, maxContextLen))
	}
	return errs
}

func (o *Options) validateSession() []error {
	var errs []error
	if o.IdleTimeout < 0 || o.AbsoluteTimeout < 0 {
		errs = append(errs, errors.New("zenkey: Options.IdleTimeout and AbsoluteTimeout must not "+
			"be negative"))
	}
	if o.IdleTimeout > o.AbsoluteTimeout {
		errs = append(errs, fmt.Errorf("zenkey: Options.IdleTimeout (%v) is longer than "+
			"AbsoluteTimeout (%v)", o.IdleTimeout, o.AbsoluteTimeout))
	}
	for _, origin := range o.APIOrigins {
		if err := checkOrigin(origin); err != nil {
			errs = append(errs, err)
		}
	}
	if o.RefreshSkew < 0 || o.UserInfoTTL < 0 {
		errs = append(errs, errors.New("zenkey: Options.RefreshSkew and UserInfoTTL must not be "+
			"negative"))
	}
	if o.ClockLeeway < 0 || o.ClockLeeway > 5*time.Minute {
		errs = append(errs, fmt.Errorf("zenkey: Options.ClockLeeway %v is outside 0 to 5 minutes",
			o.ClockLeeway))
	}
	return append(errs, o.validatePaths()...)
}

// namedPath is a path option and its name, for the error messages.
type namedPath struct{ name, path string }

// validatePaths checks that the paths the middleware serves are local, and
// that no two are the same: one would silently take the other's requests.
func (o *Options) validatePaths() []error {
	var errs []error
	paths := []namedPath{
		{"Options.LoginPath", o.LoginPath},
		{"Options.LogoutPath", o.LogoutPath},
		{"Options.BackchannelLogoutPath", o.BackchannelLogoutPath},
	}
	for _, p := range append(paths, namedPath{"Options.AfterLogoutURL", o.AfterLogoutURL}) {
		if !isLocalPath(p.path) {
			errs = append(errs, fmt.Errorf("zenkey: %s %q must be a local path starting with /",
				p.name, p.path))
		}
	}
	if u, err := url.Parse(o.RedirectURL); err == nil && u.Path != "" && u.Path != "/" {
		paths = append(paths, namedPath{"the path of Options.RedirectURL", u.Path})
	}
	for i, a := range paths {
		for _, b := range paths[i+1:] {
			if a.path == b.path {
				errs = append(errs, fmt.Errorf("zenkey: %s and %s are both %q: give each its own "+
					"path", a.name, b.name, a.path))
			}
		}
	}
	return errs
}

// checkRedirectURL accepts an absolute https URL, or http on loopback only:
// the authorization code travels in this URL. Its path is the callback's,
// which the middleware serves itself: it cannot be the site's home page.
func checkRedirectURL(raw string) error {
	if raw == "" {
		return errors.New("zenkey: Options.RedirectURL is empty: set the absolute callback URL registered with ZenKey, such as https://app.example/auth/callback")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("zenkey: Options.RedirectURL %q is not an absolute URL such as https://app.example/auth/callback", raw)
	}
	if u.Fragment != "" || u.RawQuery != "" {
		return fmt.Errorf("zenkey: Options.RedirectURL %q must have no query or fragment", raw)
	}
	if u.Path == "" || u.Path == "/" {
		return fmt.Errorf("zenkey: Options.RedirectURL %q has no path: the callback served there "+
			"would take over the site's home page; use a path such as /auth/callback", raw)
	}
	if u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil
	}
	return fmt.Errorf("zenkey: Options.RedirectURL %q must use https (plain http is allowed only "+
		"on localhost)", raw)
}

// checkProviderURL accepts an absolute https URL, or http on loopback for
// local providers such as zenkeytest.
func checkProviderURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("zenkey: %s %q is not an absolute URL", name, raw)
	}
	if u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil
	}
	return fmt.Errorf("zenkey: %s %q must use https (plain http is allowed only on localhost)",
		name, raw)
}

// checkOrigin accepts "scheme://host[:port]" and nothing more: an origin
// tokens may be sent to.
func checkOrigin(origin string) error {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("zenkey: Options.APIOrigins entry %q is not an origin such as https://api.example", origin)
	}
	if u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil
	}
	return fmt.Errorf("zenkey: Options.APIOrigins entry %q must use https (plain http is allowed "+
		"only on localhost)", origin)
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isLocalPath reports whether p is a path on this site: it starts with one
// slash, and nothing in it could make a browser leave the site.
func isLocalPath(p string) bool {
	if len(p) == 0 || p[0] != '/' || len(p) > 2048 {
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// String describes o without its secrets, so that printing or logging
// Options leaks nothing.
func (o Options) String() string {
	return fmt.Sprintf("zenkey.Options{ClientID: %q, ClientSecret: [redacted], RedirectURL: %q, "+
		"Issuer: %q}",
		o.ClientID, o.RedirectURL, o.Issuer)
}

// GoString is String, for %#v.
func (o Options) GoString() string { return o.String() }

// LogValue logs o without its secrets.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_id", o.ClientID),
		slog.String("client_secret", "[redacted]"),
		slog.String("redirect_url", o.RedirectURL),
		slog.String("issuer", o.Issuer),
	)
}
