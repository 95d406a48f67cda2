package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
)

// key32 is a valid ZENKEY_SECRET_KEY: 32 bytes in standard base64.
const key32 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func TestLoadConfigDefaultsToDemoMode(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	require.NoError(t, err)

	assert.True(t, c.Demo)
	assert.Equal(t, "localhost:8080", c.Addr)
	assert.Empty(t, c.RedirectURL, "derived from ADDR once listening")
	assert.Equal(t, storeSpec{storeSQLite, "zenkey-example/zenkey-example.db"}, c.Store)
	assert.Nil(t, c.SecretKey)
	assert.Equal(t, filepath.Join("zenkey-example", "zenkey-example.key"), c.keyFile())
	assert.Empty(t, c.ClientID)
	assert.Empty(t, c.DiscoveryUIURL, "set by the simulated ZenKey")
}

func TestLoadConfigReadsEveryVariable(t *testing.T) {
	secretFile := writeFile(t, "client-secret", "file-secret\n", 0o600)
	tests := []struct {
		name  string
		vars  map[string]string
		check func(t *testing.T, c config)
	}{
		{"ADDR", map[string]string{"ADDR": ":9000"}, func(t *testing.T, c config) {
			assert.Equal(t, ":9000", c.Addr)
		}},
		{"ZENKEY_REDIRECT_URL", map[string]string{
			"ZENKEY_REDIRECT_URL": "https://app.example/auth/callback",
		}, func(t *testing.T, c config) {
			assert.Equal(t, "https://app.example/auth/callback", c.RedirectURL)
			assert.True(t, c.Demo, "a redirect URL alone keeps demo mode")
		}},
		{"ZENKEY_CLIENT_ID and ZENKEY_CLIENT_SECRET", map[string]string{
			"ZENKEY_CLIENT_ID": "my-app", "ZENKEY_CLIENT_SECRET": "s3cret",
		}, func(t *testing.T, c config) {
			assert.False(t, c.Demo)
			assert.Equal(t, "my-app", c.ClientID)
			assert.Equal(t, zenkey.Secret("s3cret"), c.ClientSecret)
			assert.Equal(t, zenkey.DefaultDiscoveryUIURL, c.DiscoveryUIURL)
			assert.Equal(t, zenkey.DefaultDiscoveryURL, c.DiscoveryURL)
			assert.Empty(t, c.Issuer)
		}},
		{"ZENKEY_CLIENT_SECRET_FILE", map[string]string{
			"ZENKEY_CLIENT_ID": "my-app", "ZENKEY_CLIENT_SECRET_FILE": secretFile,
		}, func(t *testing.T, c config) {
			assert.Equal(t, zenkey.Secret("file-secret"), c.ClientSecret, "without its newline")
		}},
		{"ZENKEY_DISCOVERY_UI_URL and ZENKEY_DISCOVERY_URL", map[string]string{
			"ZENKEY_CLIENT_ID": "my-app", "ZENKEY_CLIENT_SECRET": "s3cret",
			"ZENKEY_DISCOVERY_UI_URL": "https://ui.test/ui",
			"ZENKEY_DISCOVERY_URL":    "https://disco.test/.well-known/openid_configuration",
		}, func(t *testing.T, c config) {
			assert.Equal(t, "https://ui.test/ui", c.DiscoveryUIURL)
			assert.Equal(t, "https://disco.test/.well-known/openid_configuration", c.DiscoveryURL)
		}},
		{"ZENKEY_ISSUER", map[string]string{
			"ZENKEY_CLIENT_ID": "my-app", "ZENKEY_CLIENT_SECRET": "s3cret",
			"ZENKEY_ISSUER": "https://idp.test",
		}, func(t *testing.T, c config) {
			assert.Equal(t, "https://idp.test", c.Issuer)
			assert.Empty(t, c.DiscoveryUIURL, "no carrier discovery with an issuer")
			assert.Empty(t, c.DiscoveryURL)
		}},
		{"ZENKEY_STORE memory", map[string]string{"ZENKEY_STORE": "memory"},
			func(t *testing.T, c config) {
				assert.Equal(t, storeSpec{kind: storeMemory}, c.Store)
				assert.Equal(t, filepath.Join("zenkey-example", "zenkey-example.key"), c.keyFile())
			}},
		{"ZENKEY_STORE sqlite", map[string]string{"ZENKEY_STORE": "sqlite:/srv/app/sessions.db"},
			func(t *testing.T, c config) {
				assert.Equal(t, storeSpec{storeSQLite, "/srv/app/sessions.db"}, c.Store)
				assert.Equal(t, "/srv/app/zenkey-example.key", c.keyFile(), "beside the database")
			}},
		{"ZENKEY_STORE redis", map[string]string{"ZENKEY_STORE": "redis://cache:6379/2"},
			func(t *testing.T, c config) {
				assert.Equal(t, storeSpec{storeRedis, "redis://cache:6379/2"}, c.Store)
			}},
		{"ZENKEY_STORE postgres", map[string]string{"ZENKEY_STORE": "postgres://app@db/app"},
			func(t *testing.T, c config) {
				assert.Equal(t, storeSpec{storePostgres, "postgres://app@db/app"}, c.Store)
			}},
		{"ZENKEY_SECRET_KEY", map[string]string{"ZENKEY_SECRET_KEY": key32},
			func(t *testing.T, c config) {
				require.Len(t, c.SecretKey, 32)
				assert.Equal(t, byte(31), c.SecretKey[31])
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(envOf(tt.vars))
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestLoadConfigRefusesMistakes(t *testing.T) {
	creds := map[string]string{"ZENKEY_CLIENT_ID": "my-app", "ZENKEY_CLIENT_SECRET": "s3cret"}
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"relative redirect URL", map[string]string{"ZENKEY_REDIRECT_URL": "/auth/callback"},
			"ZENKEY_REDIRECT_URL must be an absolute URL"},
		{"secret without client id", map[string]string{"ZENKEY_CLIENT_SECRET": "s3cret"},
			"ZENKEY_CLIENT_SECRET is set but ZENKEY_CLIENT_ID is not"},
		{"issuer without client id", map[string]string{"ZENKEY_ISSUER": "https://idp.test"},
			"ZENKEY_ISSUER is set but ZENKEY_CLIENT_ID is not"},
		{"discovery without client id", map[string]string{"ZENKEY_DISCOVERY_URL": "https://d.test"},
			"ZENKEY_DISCOVERY_URL is set but ZENKEY_CLIENT_ID is not"},
		{"client id without secret", map[string]string{"ZENKEY_CLIENT_ID": "my-app"},
			"set ZENKEY_CLIENT_SECRET or ZENKEY_CLIENT_SECRET_FILE"},
		{"both secrets", with(creds, "ZENKEY_CLIENT_SECRET_FILE", "/run/secret"),
			"are both set: keep one"},
		{"missing secret file", map[string]string{
			"ZENKEY_CLIENT_ID": "my-app", "ZENKEY_CLIENT_SECRET_FILE": "/nonexistent/secret",
		}, "no such file"},
		{"issuer and discovery", with(with(creds, "ZENKEY_ISSUER", "https://idp.test"),
			"ZENKEY_DISCOVERY_UI_URL", "https://ui.test"), "ZENKEY_ISSUER replaces carrier discovery"},
		{"unknown store", map[string]string{"ZENKEY_STORE": "mysql://db"}, "ZENKEY_STORE must be"},
		{"sqlite without path", map[string]string{"ZENKEY_STORE": "sqlite:"},
			"ZENKEY_STORE must be"},
		{"short secret key", map[string]string{"ZENKEY_SECRET_KEY": "c2hvcnQ="},
			"ZENKEY_SECRET_KEY holds 5 bytes"},
		{"secret key not base64", map[string]string{"ZENKEY_SECRET_KEY": "not base64!"},
			"ZENKEY_SECRET_KEY is not base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(envOf(tt.vars))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			for name, value := range tt.vars {
				if strings.Contains(name, "SECRET") && !strings.HasSuffix(name, "_FILE") {
					assert.NotContains(t, err.Error(), value, "the error shows no secret")
				}
			}
		})
	}
}

func TestLoadConfigListsEveryMistake(t *testing.T) {
	_, err := loadConfig(envOf(map[string]string{
		"ZENKEY_ISSUER": "https://idp.test", "ZENKEY_STORE": "nope", "ZENKEY_SECRET_KEY": "c2hvcnQ=",
	}))
	require.Error(t, err)
	assert.Len(t, strings.Split(err.Error(), "\n"), 3)
}

func TestCallbackURLKeepsTheHostOfADDR(t *testing.T) {
	tests := []struct{ addr, bound, want string }{
		{"localhost:8080", "127.0.0.1:8080", "http://localhost:8080/auth/callback"},
		{":0", "[::]:41234", "http://localhost:41234/auth/callback"},
		{"0.0.0.0:9000", "0.0.0.0:9000", "http://localhost:9000/auth/callback"},
		{"127.0.0.1:0", "127.0.0.1:5555", "http://127.0.0.1:5555/auth/callback"},
		{"[::1]:0", "[::1]:5555", "http://[::1]:5555/auth/callback"},
	}
	for _, tt := range tests {
		bound, err := net.ResolveTCPAddr("tcp", tt.bound)
		require.NoError(t, err)
		assert.Equal(t, tt.want, callbackURL(tt.addr, bound), tt.addr)
	}
}

func TestZenkeyOptionsPerProvider(t *testing.T) {
	c := config{ClientID: "a", ClientSecret: zenkey.Secret("b")}
	carrier := zenkeyOptions(c, nil, nil, "", nil)
	assert.Contains(t, carrier.Scopes, "phone", "ZenKey's claims")
	assert.Equal(t, "b", carrier.ClientSecret)
	assert.Equal(t, signInContext, carrier.Context)

	standard := zenkeyOptions(config{Issuer: "https://idp.test"}, nil, nil, "", nil)
	assert.Contains(t, standard.Scopes, "profile", "a standard provider's claims")
	assert.NotContains(t, standard.Scopes, "phone")
}

// with returns a copy of vars with name set to value.
func with(vars map[string]string, name, value string) map[string]string {
	c := map[string]string{name: value}
	for k, v := range vars {
		c[k] = v
	}
	return c
}

// writeFile writes a file in a temporary directory with the mode and
// returns its path.
func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode)) // whatever the umask
	return path
}
