package main

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"

	"github.com/zenkey-go/zenkey"
)

// Defaults for the environment variables the app reads.
const (
	defaultAddr = "localhost:8080"

	// defaultDataDir holds the default SQLite file and key file. The store
	// refuses a directory that other users can read, as a working tree
	// usually is, so the files get a directory of their own (mode 0700).
	defaultDataDir = "zenkey-example"
	defaultStore   = "sqlite:" + defaultDataDir + "/zenkey-example.db"
)

// A config is what the environment asks of the app; loadConfig reads it.
type config struct {
	Addr string // ADDR

	// RedirectURL is ZENKEY_REDIRECT_URL. Empty, it is derived from Addr
	// once the app listens (see callbackURL).
	RedirectURL string

	// Demo is set when ZENKEY_CLIENT_ID is not: the app then starts a
	// simulated ZenKey and fills in the provider fields below itself.
	Demo bool

	// The provider: the client's credentials and where to find the
	// provider, by carrier discovery or, with Issuer, standard discovery.
	ClientID       string        // ZENKEY_CLIENT_ID
	ClientSecret   zenkey.Secret // ZENKEY_CLIENT_SECRET or ZENKEY_CLIENT_SECRET_FILE
	DiscoveryUIURL string        // ZENKEY_DISCOVERY_UI_URL
	DiscoveryURL   string        // ZENKEY_DISCOVERY_URL
	Issuer         string        // ZENKEY_ISSUER

	Store storeSpec // ZENKEY_STORE

	// SecretKey is ZENKEY_SECRET_KEY, decoded; nil when it is unset, and
	// the key file (keyFile) holds the master secret instead.
	SecretKey zenkey.Secret
}

// providerVars are the variables that configure a real provider. In demo
// mode they would be ignored, so setting one is a mistake.
var providerVars = []string{
	"ZENKEY_CLIENT_SECRET", "ZENKEY_CLIENT_SECRET_FILE",
	"ZENKEY_DISCOVERY_UI_URL", "ZENKEY_DISCOVERY_URL", "ZENKEY_ISSUER",
}

// loadConfig reads the app's configuration with env, such as os.Getenv.
// The error lists every mistake, each with what to change.
func loadConfig(env func(string) string) (config, error) {
	c := config{
		Addr:        cmp.Or(env("ADDR"), defaultAddr),
		RedirectURL: env("ZENKEY_REDIRECT_URL"),
		ClientID:    env("ZENKEY_CLIENT_ID"),
	}
	c.Demo = c.ClientID == ""
	var errs []error
	if c.RedirectURL != "" && !isAbsoluteURL(c.RedirectURL) {
		errs = append(errs, errors.New(
			"example: ZENKEY_REDIRECT_URL must be an absolute URL, such as https://app.example/auth/callback"))
	}
	if c.Demo {
		errs = append(errs, demoConflicts(env)...)
	} else {
		errs = append(errs, c.readProvider(env)...)
	}

	var err error
	if c.Store, err = parseStore(cmp.Or(env("ZENKEY_STORE"), defaultStore)); err != nil {
		errs = append(errs, err)
	}
	if key := env("ZENKEY_SECRET_KEY"); key != "" {
		if c.SecretKey, err = decodeKey("ZENKEY_SECRET_KEY", key); err != nil {
			errs = append(errs, err)
		}
	}
	return c, errors.Join(errs...)
}

// demoConflicts reports the provider variables that are set without
// ZENKEY_CLIENT_ID.
func demoConflicts(env func(string) string) []error {
	var errs []error
	for _, name := range providerVars {
		if env(name) != "" {
			errs = append(errs, fmt.Errorf("example: %s is set but ZENKEY_CLIENT_ID is not: "+
				"set ZENKEY_CLIENT_ID for a real provider, or unset %s for demo mode", name, name))
		}
	}
	return errs
}

// readProvider reads the client secret and the provider's location into c.
func (c *config) readProvider(env func(string) string) []error {
	var errs []error
	secret, file := env("ZENKEY_CLIENT_SECRET"), env("ZENKEY_CLIENT_SECRET_FILE")
	switch {
	case secret != "" && file != "":
		errs = append(errs, errors.New(
			"example: ZENKEY_CLIENT_SECRET and ZENKEY_CLIENT_SECRET_FILE are both set: keep one"))
	case secret != "":
		c.ClientSecret = zenkey.Secret(secret)
	case file != "":
		var err error
		if c.ClientSecret, err = readClientSecret(file); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, errors.New(
			"example: ZENKEY_CLIENT_ID is set without a secret: set ZENKEY_CLIENT_SECRET or "+
				"ZENKEY_CLIENT_SECRET_FILE"))
	}

	c.Issuer = env("ZENKEY_ISSUER")
	ui, discovery := env("ZENKEY_DISCOVERY_UI_URL"), env("ZENKEY_DISCOVERY_URL")
	if c.Issuer != "" {
		if ui != "" || discovery != "" {
			errs = append(errs, errors.New("example: ZENKEY_ISSUER replaces carrier discovery: "+
				"unset ZENKEY_DISCOVERY_UI_URL and ZENKEY_DISCOVERY_URL, or ZENKEY_ISSUER"))
		}
		return errs
	}
	c.DiscoveryUIURL = cmp.Or(ui, zenkey.DefaultDiscoveryUIURL)
	c.DiscoveryURL = cmp.Or(discovery, zenkey.DefaultDiscoveryURL)
	return errs
}

// keyFile is where the master secret is kept when ZENKEY_SECRET_KEY is
// unset: beside the SQLite file, or in the default data directory.
func (c config) keyFile() string {
	dir := defaultDataDir
	if c.Store.kind == storeSQLite {
		dir = filepath.Dir(c.Store.target)
	}
	return filepath.Join(dir, keyFileName)
}

// isAbsoluteURL reports whether s is a URL with a scheme and a host.
func isAbsoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}
