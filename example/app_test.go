package main

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// A page is a response the test client got, with its body read.
type page struct {
	status int
	header http.Header
	url    *url.URL // where the redirects ended
	body   string
}

// get GETs the path (or absolute URL) with an Accept header.
func get(t *testing.T, c *http.Client, base, path, accept string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, resolve(t, base, path), nil)
	require.NoError(t, err)
	req.Header.Set("Accept", accept)
	return do(t, c, req)
}

// post POSTs a form to the path (or absolute URL), as a browser's HTML form.
func post(t *testing.T, c *http.Client, base, path string, form url.Values) page {
	t.Helper()
	body := strings.NewReader(form.Encode())
	req, err := http.NewRequest(http.MethodPost, resolve(t, base, path), body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	return do(t, c, req)
}

func do(t *testing.T, c *http.Client, req *http.Request) page {
	t.Helper()
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return page{resp.StatusCode, resp.Header, resp.Request.URL, string(body)}
}

func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	require.NoError(t, err)
	r, err := url.Parse(ref)
	require.NoError(t, err)
	return b.ResolveReference(r).String()
}

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	subjectCode = regexp.MustCompile(`<code id="subject">([^<]+)</code>`)

	simulatedLine = regexp.MustCompile(`simulated ZenKey  (http://127\.0\.0\.1:\d+)\n`)
)

// submit fills in the first form of p with its hidden fields and fields, and
// posts it, as a person at a browser would.
func submit(t *testing.T, c *http.Client, p page, fields url.Values) page {
	t.Helper()
	action := formAction.FindStringSubmatch(p.body)
	require.NotNil(t, action, "a form on %s:\n%s", p.url, p.body)
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(p.body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	for k, v := range fields {
		form[k] = v
	}
	return post(t, c, p.url.String(), html.UnescapeString(action[1]), form)
}

// signIn walks the simulated ZenKey's sign-in pages: the carrier picker,
// then the approval page with a PIN. It returns the approval page and the
// profile page the sign-in ends on.
func signIn(t *testing.T, c *http.Client, appURL string) (approval, profile page) {
	t.Helper()
	picker := get(t, c, appURL, "/auth/login?return_to=/profile", "text/html")
	require.Contains(t, picker.body, "Choose your carrier")
	approval = submit(t, c, picker, url.Values{"mccmnc": {"310999"}})
	require.Contains(t, approval.body, "Approve sign-in")
	profile = submit(t, c, approval, url.Values{"pin": {"1234"}, "decision": {"approve"}})
	return approval, profile
}

func TestDemoModeWiring(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	app := startApp(t, map[string]string{"ZENKEY_STORE": "sqlite:" + dir + "/sessions.db"})
	out := app.out.String()

	assert.Contains(t, out, "demo mode")
	assert.Contains(t, out, "app               "+app.URL+"\n")
	assert.Contains(t, out, "callback          "+app.URL+"/auth/callback\n")
	simulated := simulatedLine.FindStringSubmatch(out)
	require.NotNil(t, simulated, out)
	assert.Contains(t, out, "store             sqlite:"+dir+"/sessions.db\n")
	assert.Contains(t, out, "master secret     "+dir+"/zenkey-example.key (created)\n")
	assertMode(t, filepath.Join(dir, "zenkey-example.key"), 0o600)

	// The sign-in starts at the simulated carrier discovery, as this app's
	// client, to come back to the derived callback.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	login := get(t, noFollow, app.URL, "/auth/login", "text/html")
	require.Equal(t, http.StatusFound, login.status)
	to, err := url.Parse(login.header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, simulated[1]+"/ui/discovery-ui", to.Scheme+"://"+to.Host+to.Path)
	assert.Equal(t, demoClientID, to.Query().Get("client_id"))
	assert.Equal(t, app.URL+"/auth/callback", to.Query().Get("redirect_uri"))
}

func TestDemoSignInProfileAPIAndSignOut(t *testing.T) {
	app := startApp(t, map[string]string{"ZENKEY_SECRET_KEY": key32})
	browser := newBrowser(t)

	home := get(t, browser, app.URL, "/", "text/html")
	assert.Contains(t, home.body, "Sign in with ZenKey")
	assert.Equal(t, http.StatusUnauthorized, profileStatus(t, browser, app.URL))

	// Sign in: the approval page shows the app's context text.
	approval, profile := signIn(t, browser, app.URL)
	assert.Contains(t, approval.body, signInContext)
	require.Equal(t, http.StatusOK, profile.status)
	assert.Equal(t, "/profile", profile.url.Path)
	assert.Equal(t, "no-store", profile.header.Get("Cache-Control"))
	sub := subjectCode.FindStringSubmatch(profile.body)
	require.NotNil(t, sub, profile.body)
	assert.True(t, strings.HasPrefix(sub[1], "310999-"), "a ZenKey subject starts with the mccmnc")
	assert.Contains(t, profile.body, "jane.doe@example.com", "the userinfo")
	assert.Contains(t, profile.body, "PIN or biometric", "the acr")

	// The same as JSON.
	var claims profileJSON
	decode(t, get(t, browser, app.URL, "/profile", "application/json"), &claims)
	assert.Equal(t, sub[1], claims.Sub)
	assert.Equal(t, "a3", claims.ACR)
	var info map[string]string
	decode(t, get(t, browser, app.URL, "/profile/userinfo", "application/json"), &info)
	assert.Equal(t, map[string]string{
		"sub": sub[1], "name": "Jane Doe", "given_name": "Jane", "family_name": "Doe",
		"email": "jane.doe@example.com", "phone": "+13105550123", "postal_code": "90210",
	}, info)

	// The API, through the proxy, with the session's token.
	var answer apiAnswer
	decode(t, callAPI(t, browser, app.URL), &answer)
	assert.Equal(t, apiAnswer{Message: "hello from the API", Authorized: true}, answer)

	// Sign out: the session is gone, also for a replay of the old cookie.
	old := browser.Jar.Cookies(mustParse(t, app.URL))
	require.NotEmpty(t, old)
	after := post(t, browser, app.URL, "/auth/logout", nil)
	assert.Equal(t, "/", after.url.Path)
	assert.Contains(t, after.body, "Sign in with ZenKey")
	assert.Equal(t, http.StatusUnauthorized, profileStatus(t, browser, app.URL))
	assert.Equal(t, http.StatusUnauthorized, callAPI(t, browser, app.URL).status)
	replay := newBrowser(t)
	replay.Jar.SetCookies(mustParse(t, app.URL), old)
	assert.Equal(t, http.StatusUnauthorized, profileStatus(t, replay, app.URL))

	assert.NotContains(t, app.out.String(), key32, "the output shows no secret")
}

func TestRealProviderModes(t *testing.T) {
	tests := []struct {
		name    string
		context string // the context text sent: ZenKey's, not a standard provider's
		env     func(idp *zenkeytest.Server, secretFile string) map[string]string
	}{
		{"carrier discovery", signInContext, carrierEnv},
		{"standard OpenID discovery", "", issuerEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := zenkeytest.NewServer(zenkeytest.Config{ClientID: "real-app",
				ClientSecret: "real-secret"})
			t.Cleanup(idp.Close) // after the app has stopped
			app := startApp(t, tt.env(idp, writeFile(t, "secret", "real-secret\n", 0o600)))
			browser := newBrowser(t)

			profile := get(t, browser, app.URL, "/auth/login?return_to=/profile", "text/html")
			require.Equal(t, http.StatusOK, profile.status, profile.body)
			assert.Equal(t, "/profile", profile.url.Path)
			var claims profileJSON
			decode(t, get(t, browser, app.URL, "/profile", "application/json"), &claims)
			assert.Equal(t, idp.Issuer, claims.Iss)
			assert.Equal(t, tt.context, idp.LastAuthorize().Get("context"))

			out := app.out.String()
			assert.NotContains(t, out, "demo mode")
			assert.NotContains(t, out, "real-secret", "the output shows no secret")
		})
	}
}

func TestRunRefusesABadConfigurationAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	err := run(t.Context(), envOf(map[string]string{
		"ZENKEY_ISSUER": "https://idp.test", "ZENKEY_STORE": "sqlite:" + dir + "/sessions.db",
	}), io.Discard, nil)
	require.ErrorContains(t, err, "ZENKEY_CLIENT_ID is not")
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries)
}

func TestStaticFilesAndUnknownPaths(t *testing.T) {
	app := startApp(t, map[string]string{"ZENKEY_STORE": "memory", "ZENKEY_SECRET_KEY": key32})
	c := newBrowser(t)
	css := get(t, c, app.URL, "/static/style.css", "text/css")
	assert.Equal(t, http.StatusOK, css.status)
	assert.Contains(t, css.header.Get("Content-Type"), "text/css")
	assert.Equal(t, http.StatusOK, get(t, c, app.URL, "/static/profile.js", "*/*").status)
	assert.Equal(t, http.StatusNotFound, get(t, c, app.URL, "/nope", "text/html").status)
}

// carrierEnv configures the app for ZenKey carrier discovery at idp, with
// the client secret in a file.
func carrierEnv(idp *zenkeytest.Server, secretFile string) map[string]string {
	return map[string]string{
		"ZENKEY_CLIENT_ID": "real-app", "ZENKEY_CLIENT_SECRET_FILE": secretFile,
		"ZENKEY_DISCOVERY_UI_URL": idp.DiscoveryUIURL, "ZENKEY_DISCOVERY_URL": idp.DiscoveryURL,
	}
}

// issuerEnv configures the app for standard OpenID discovery at idp.
func issuerEnv(idp *zenkeytest.Server, _ string) map[string]string {
	return map[string]string{
		"ZENKEY_CLIENT_ID": "real-app", "ZENKEY_CLIENT_SECRET": "real-secret",
		"ZENKEY_ISSUER": idp.Issuer,
	}
}

// profileJSON is the part of GET /profile's JSON the tests read.
type profileJSON struct {
	Sub string `json:"sub"`
	Iss string `json:"iss"`
	ACR string `json:"acr"`
}

// profileStatus is the status of GET /profile as JSON: 200 when signed in.
func profileStatus(t *testing.T, c *http.Client, appURL string) int {
	t.Helper()
	return get(t, c, appURL, "/profile", "application/json").status
}

// callAPI calls the demo API through the proxy, as the profile page's
// script does.
func callAPI(t *testing.T, c *http.Client, appURL string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, appURL+"/api/hello", nil)
	require.NoError(t, err)
	req.Header.Set("X-Requested-With", "fetch")
	return do(t, c, req)
}

// decode checks that p is a JSON answer without a token, and decodes it.
func decode(t *testing.T, p page, v any) {
	t.Helper()
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "application/json", p.header.Get("Content-Type"))
	assert.NotContains(t, p.body, "eyJ", "no JWT in an answer")
	assert.NotContains(t, p.body, "token")
	require.NoError(t, json.Unmarshal([]byte(p.body), v))
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}

func TestTransferNeedsApprovalOnThePhone(t *testing.T) {
	app := startApp(t, map[string]string{"ZENKEY_SECRET_KEY": key32})
	browser := newBrowser(t)
	signIn(t, browser, app.URL)

	form := get(t, browser, app.URL, "/transfer", "text/html")
	require.Equal(t, http.StatusOK, form.status)
	defaults := url.Values{"amount": {"250"}, "to": {"Bob"}}
	assert.Equal(t, defaults, formValues(t, form))

	// The first post asks for the approval of the transfer's text.
	send := url.Values{"amount": {"75"}, "to": {"Carol & Dave"}}
	asked := do(t, browser, transferRequest(t, app.URL, send))
	require.Equal(t, http.StatusForbidden, asked.status)
	assert.Contains(t, asked.body, "Send $75 to Carol &amp; Dave")

	// The simulated ZenKey's approval page shows the transfer's text, and
	// brings the user back to the form, filled with what they approved.
	link := regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(asked.body, -1)
	approval := get(t, browser, app.URL, html.UnescapeString(link[len(link)-1][1]), "text/html")
	assert.Contains(t, approval.body, "Send $75 to Carol &amp; Dave")
	back := submit(t, browser, approval, url.Values{"pin": {"1234"}, "decision": {"approve"}})
	require.Equal(t, http.StatusOK, back.status, back.body)
	assert.Equal(t, "/transfer", back.url.Path, "back at the form")
	assert.Equal(t, send, back.url.Query())
	assert.Equal(t, send, formValues(t, back), "the form is filled with what was approved")

	// Submitting it again sends the transfer, once.
	done := do(t, browser, transferRequest(t, app.URL, formValues(t, back)))
	require.Equal(t, http.StatusOK, done.status, done.body)
	assert.Contains(t, done.body, "Sent $75 to Carol &amp; Dave")
	again := do(t, browser, transferRequest(t, app.URL, send))
	assert.Equal(t, http.StatusForbidden, again.status, "one approval, one transfer")
}

func TestTransferRefusesInvalidInputBeforeAnyApproval(t *testing.T) {
	app := startApp(t, map[string]string{"ZENKEY_SECRET_KEY": key32})
	browser := newBrowser(t)
	signIn(t, browser, app.URL)

	tests := []struct {
		name, amount, to, problem string
	}{
		{"no amount", "", "Bob", "Enter an amount."},
		{"zero", "0", "Bob", "whole number of dollars"},
		{"leading zero", "0250", "Bob", "whole number of dollars"},
		{"cents", "250.00", "Bob", "whole number of dollars"},
		{"negative", "-250", "Bob", "whole number of dollars"},
		{"exponent", "1e6", "Bob", "whole number of dollars"},
		{"seven digits", "1000000", "Bob", "from 1 to 999999"},
		{"no recipient", "250", "  ", "Enter a recipient."},
		{"long recipient", "250", strings.Repeat("B", maxRecipient+1), "at most 40 characters"},
		{"a page of text", "250", strings.Repeat("Bob ", 100), "at most 40 characters"},
		{"line break", "250", "Bob\nand Mallory", "letters, digits, punctuation"},
		{"right-to-left override", "250", "Bob \u202eyrollaM", "letters, digits, punctuation"},
		{"zero-width space", "250", "Bo\u200bb", "letters, digits, punctuation"},
		{"no-break space", "250", "Bob\u00a0Smith", "letters, digits, punctuation"},
		{"not UTF-8", "250", "Bob\xff", "letters, digits, punctuation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send := url.Values{"amount": {tt.amount}, "to": {tt.to}}
			refused := do(t, browser, transferRequest(t, app.URL, send))
			require.Equal(t, http.StatusBadRequest, refused.status)
			assert.Contains(t, refused.header.Get("Content-Type"), "text/html")
			assert.Contains(t, html.UnescapeString(refused.body), tt.problem, "the page says why")
			assert.NotContains(t, refused.body, "Approve this on your phone", "no approval started")
			assert.Contains(t, refused.body, `action="/transfer"`, "the form again")
		})
	}

	t.Run("in the form's URL too", func(t *testing.T) {
		q := url.Values{"amount": {"12abc"}, "to": {"Bob"}}
		page := get(t, browser, app.URL, "/transfer?"+q.Encode(), "text/html")
		require.Equal(t, http.StatusBadRequest, page.status)
		assert.Contains(t, page.body, "whole number of dollars")
	})

	// The longest valid transfer still asks for an approval: its text fits.
	longest := url.Values{
		"amount": {strings.Repeat("9", maxAmountDigits)},
		"to":     {strings.Repeat("\U0001F600", maxRecipient)},
	}
	asked := do(t, browser, transferRequest(t, app.URL, longest))
	require.Equal(t, http.StatusForbidden, asked.status, asked.body)
	assert.Contains(t, asked.body, "Approve this on your phone")
}

func TestTransferTextFitsOnThePhone(t *testing.T) {
	require.LessOrEqual(t, maxTransferText, zenkeyContextMax)
	longest := transfer{
		Amount: strings.Repeat("9", maxAmountDigits),
		To:     strings.Repeat("\U0001F600", maxRecipient),
	}
	_, problem := readTransfer(url.Values{"amount": {longest.Amount}, "to": {longest.To}})
	require.Empty(t, problem, "the longest transfer is valid")
	assert.Equal(t, maxTransferText, utf8.RuneCountInString(longest.text()))

	// Spaces around the input are not part of the transfer.
	got, problem := readTransfer(url.Values{"amount": {" 250 "}, "to": {"\tBob Smith \n"}})
	require.Empty(t, problem)
	assert.Equal(t, transfer{"250", "Bob Smith"}, got)
}

func TestTransferFromAnotherSiteIsRefused(t *testing.T) {
	app := startApp(t, map[string]string{"ZENKEY_SECRET_KEY": key32})
	browser := newBrowser(t)
	signIn(t, browser, app.URL)

	req := transferRequest(t, app.URL, url.Values{"amount": {"250"}, "to": {"Mallory"}})
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	refused := do(t, browser, req)
	assert.Equal(t, http.StatusForbidden, refused.status)
	assert.NotContains(t, refused.body, "Send $250 to Mallory", "no approval started")
}

// transferRequest is the transfer form's POST, as the browser sends it.
func transferRequest(t *testing.T, appURL string, form url.Values) *http.Request {
	t.Helper()
	body := strings.NewReader(form.Encode())
	req, err := http.NewRequest(http.MethodPost, appURL+"/transfer", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Referer", appURL+"/transfer")
	return req
}

// inputValue finds the value of a text input on a page.
var inputValue = regexp.MustCompile(`name="(amount|to)" value="([^"]*)"`)

// formValues reads the amount and recipient the transfer form on p is
// filled with.
func formValues(t *testing.T, p page) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range inputValue.FindAllStringSubmatch(p.body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	require.Len(t, v, 2, "a transfer form on %s:\n%s", p.url, p.body)
	return v
}

func TestLogoutFromAnotherOriginIsRefused(t *testing.T) {
	app := startApp(t, map[string]string{"ZENKEY_SECRET_KEY": key32})
	browser := newBrowser(t)
	signIn(t, browser, app.URL)

	// A form on another site posts to /auth/logout: a browser says where
	// the request comes from, by fetch metadata or, older, by its Origin.
	for name, header := range map[string][2]string{
		"Sec-Fetch-Site": {"Sec-Fetch-Site", "cross-site"},
		"Origin":         {"Origin", "http://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, app.URL+"/auth/logout", nil)
			require.NoError(t, err)
			req.Header.Set("Accept", "text/html")
			req.Header.Set(header[0], header[1])
			refused := do(t, browser, req)
			assert.Equal(t, http.StatusForbidden, refused.status)
			assert.Equal(t, http.StatusOK, profileStatus(t, browser, app.URL), "still signed in")
		})
	}

	// The app's own sign-out button still works.
	post(t, browser, app.URL, "/auth/logout", nil)
	assert.Equal(t, http.StatusUnauthorized, profileStatus(t, browser, app.URL))
}

func TestBackchannelLogoutWithAStandardIssuer(t *testing.T) {
	idp := newProvider(t)
	app := startApp(t, issuerEnv(idp, ""))

	// The user is signed in on two browsers.
	browsers := []*http.Client{newBrowser(t), newBrowser(t)}
	subjects := make([]string, len(browsers))
	for i, b := range browsers {
		get(t, b, app.URL, "/auth/login?return_to=/profile", "text/html")
		var claims profileJSON
		decode(t, get(t, b, app.URL, "/profile", "application/json"), &claims)
		subjects[i] = claims.Sub
	}
	require.Equal(t, subjects[0], subjects[1], "one user")

	// The provider says, server to server, that the user signed out there.
	provider := &http.Client{Timeout: 10 * time.Second}
	token := url.Values{"logout_token": {idp.LogoutToken(subjects[0], "")}}
	ended := post(t, provider, app.URL, "/auth/backchannel-logout", token)
	require.Equal(t, http.StatusOK, ended.status, ended.body)
	assert.Equal(t, "no-store", ended.header.Get("Cache-Control"))
	for i, b := range browsers {
		assert.Equal(t, http.StatusUnauthorized, profileStatus(t, b, app.URL), "browser %d", i)
	}

	// A replayed token is refused.
	replay := post(t, provider, app.URL, "/auth/backchannel-logout", token)
	assert.Equal(t, http.StatusBadRequest, replay.status)
}

func TestBackchannelLogoutIsNotServedForZenKey(t *testing.T) {
	idp := newProvider(t)
	app := startApp(t, carrierEnv(idp, writeFile(t, "secret", "real-secret\n", 0o600)))
	provider := &http.Client{Timeout: 10 * time.Second}
	token := url.Values{"logout_token": {idp.LogoutToken("310999-0123456789abcdef", "")}}
	p := post(t, provider, app.URL, "/auth/backchannel-logout", token)
	assert.Equal(t, http.StatusNotFound, p.status, "ZenKey sends no back-channel logout")
}

func TestProfileRefusalsAreJSONWhenAskedForJSON(t *testing.T) {
	app := startApp(t, map[string]string{"ZENKEY_SECRET_KEY": key32})
	browser := newBrowser(t)
	for _, path := range []string{"/profile", "/profile/userinfo"} {
		refused := get(t, browser, app.URL, path, "application/json")
		assertJSONError(t, refused, http.StatusUnauthorized, "sign-in required")
	}

	// A browser's page load is still sent to sign in.
	page := get(t, browser, app.URL, "/profile", "text/html")
	assert.Contains(t, page.body, "Choose your carrier")
}

func TestProfileAnswersJSON503WhenTheStoreFails(t *testing.T) {
	idp := newProvider(t)
	store := &flakyStore{Store: zenkey.NewMemoryStore()}
	appURL := serveApp(t, config{ClientID: "real-app", ClientSecret: zenkey.Secret("real-secret"),
		Issuer: idp.Issuer}, store)
	browser := newBrowser(t)
	get(t, browser, appURL, "/auth/login?return_to=/profile", "text/html")
	require.Equal(t, http.StatusOK, profileStatus(t, browser, appURL))

	store.down.Store(true)
	for _, path := range []string{"/profile", "/profile/userinfo"} {
		refused := get(t, browser, appURL, path, "application/json")
		assertJSONError(t, refused, http.StatusServiceUnavailable, "session store did not answer")
	}
	store.down.Store(false)
	assert.Equal(t, http.StatusOK, profileStatus(t, browser, appURL), "never a false sign-out")
}

// newProvider starts a provider that knows the client real-app, and stops
// it when the test ends, after the app it serves.
func newProvider(t *testing.T) *zenkeytest.Server {
	t.Helper()
	idp := zenkeytest.NewServer(zenkeytest.Config{ClientID: "real-app",
		ClientSecret: "real-secret"})
	t.Cleanup(idp.Close)
	return idp
}

// assertJSONError checks that p is a JSON error with the status, whose
// message contains want.
func assertJSONError(t *testing.T, p page, status int, want string) {
	t.Helper()
	require.Equal(t, status, p.status, p.body)
	assert.Equal(t, "application/json", p.header.Get("Content-Type"))
	assert.Equal(t, "no-store", p.header.Get("Cache-Control"))
	var answer jsonError
	require.NoError(t, json.Unmarshal([]byte(p.body), &answer), p.body)
	assert.Contains(t, answer.Error, want)
}

// serveApp serves the app's routes for c (a real provider's config) with
// the store, and returns the app's URL.
func serveApp(t *testing.T, c config, store zenkey.Store) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	log := slog.New(slog.DiscardHandler)
	opts := zenkeyOptions(c, zenkey.Secret(key32), store, appURL+"/auth/callback", log)
	zk, err := zenkey.New(opts)
	require.NoError(t, err)
	a := &app{zk: zk, api: &url.URL{Scheme: "http", Host: "127.0.0.1:1"}, log: log}
	srv.Config.Handler = a.routes()
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(zk.WaitRevocations)
	return appURL
}

// flakyStore is a store whose reads fail while it is down.
type flakyStore struct {
	zenkey.Store
	down atomic.Bool
}

func (s *flakyStore) Get(ctx context.Context, key string) (*zenkey.Record, error) {
	if s.down.Load() {
		return nil, errors.New("flakyStore: down")
	}
	return s.Store.Get(ctx, key)
}
