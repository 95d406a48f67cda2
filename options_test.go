package zenkey_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
)

func validOptions() zenkey.Options {
	return zenkey.Options{
		ClientID:     "client",
		ClientSecret: "secret",
		RedirectURL:  "https://app.example/auth/callback",
		SecretKey:    []byte(strings.Repeat("k", 32)),
	}
}

func TestNewAcceptsAMinimalConfiguration(t *testing.T) {
	_, err := zenkey.New(validOptions())
	require.NoError(t, err)

	o := validOptions()
	o.RedirectURL = "http://localhost:8080/auth/callback"
	_, err = zenkey.New(o)
	require.NoError(t, err, "plain http on localhost is fine")
}

func TestNewSaysWhatToFix(t *testing.T) {
	tests := []struct {
		name string
		edit func(*zenkey.Options)
		want string
	}{
		{"no client id", func(o *zenkey.Options) { o.ClientID = "" }, "ClientID is empty"},
		{"no client secret", func(o *zenkey.Options) { o.ClientSecret = "" },
			"ClientSecret is empty"},
		{"no redirect", func(o *zenkey.Options) { o.RedirectURL = "" }, "RedirectURL is empty"},
		{"relative redirect", func(o *zenkey.Options) { o.RedirectURL = "/auth/callback" },
			"not an absolute URL"},
		{"http redirect", func(o *zenkey.Options) { o.RedirectURL = "http://app.example/cb" }, "must use https"},
		{"redirect with query", func(o *zenkey.Options) { o.RedirectURL = "https://app.example/cb?x=1" }, "no query"},
		{"short secret", func(o *zenkey.Options) { o.SecretKey = []byte("short") },
			"at least 32 random bytes"},
		{"short previous secret", func(o *zenkey.Options) {
			o.PreviousSecretKeys = []zenkey.Secret{[]byte("old")}
		}, "PreviousSecretKeys[0]"},
		{"acr a2", func(o *zenkey.Options) { o.ACR = "a2" }, `"a2" must not be used`},
		{"unknown acr", func(o *zenkey.Options) { o.ACR = "gold" }, "not a ZenKey value"},
		{"long context", func(o *zenkey.Options) { o.Context = strings.Repeat("x", 281) },
			"at most 280"},
		{"http issuer", func(o *zenkey.Options) { o.Issuer = "http://idp.example" }, "must use https"},
		{"idle beyond absolute", func(o *zenkey.Options) {
			o.IdleTimeout = 2 * time.Hour
			o.AbsoluteTimeout = time.Hour
		}, "longer than AbsoluteTimeout"},
		{"absolute logout target", func(o *zenkey.Options) {
			o.AfterLogoutURL = "https://evil.example"
		}, "AfterLogoutURL"},
		{"redirect without a path", func(o *zenkey.Options) {
			o.RedirectURL = "https://app.example"
		}, "would take over the site's home page"},
		{"redirect to the home page", func(o *zenkey.Options) {
			o.RedirectURL = "https://app.example/"
		}, "would take over the site's home page"},
		{"callback at the login path", func(o *zenkey.Options) {
			o.RedirectURL = "https://app.example/auth/login"
		}, `Options.LoginPath and the path of Options.RedirectURL are both "/auth/login"`},
		{"callback at the logout path", func(o *zenkey.Options) {
			o.LogoutPath = "/auth/callback"
		}, `Options.LogoutPath and the path of Options.RedirectURL are both "/auth/callback"`},
		{"callback at the back-channel logout path", func(o *zenkey.Options) {
			o.Issuer = "https://idp.example"
			o.BackchannelLogoutPath = "/auth/callback"
		}, "Options.BackchannelLogoutPath and the path of Options.RedirectURL"},
		{"login at the logout path", func(o *zenkey.Options) {
			o.LoginPath = "/auth/logout"
		}, `Options.LoginPath and Options.LogoutPath are both "/auth/logout"`},
		{"logout at the back-channel logout path", func(o *zenkey.Options) {
			o.LogoutPath = "/auth/backchannel-logout"
		}, "Options.LogoutPath and Options.BackchannelLogoutPath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := validOptions()
			tt.edit(&o)
			_, err := zenkey.New(o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "zenkey: "), err.Error())
		})
	}
}

func TestNewListsEveryMistakeAtOnce(t *testing.T) {
	_, err := zenkey.New(zenkey.Options{})
	require.Error(t, err)
	for _, want := range []string{"ClientID", "ClientSecret", "RedirectURL", "SecretKey"} {
		assert.Contains(t, err.Error(), want)
	}
}
