package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// screenshotPath is where the browser test saves the profile page. With
// ZENKEY_UPDATE_SCREENSHOT=1 it is the README's picture; otherwise a
// temporary file, so that running the tests changes nothing in the tree.
func screenshotPath(t *testing.T) string {
	if os.Getenv("ZENKEY_UPDATE_SCREENSHOT") == "1" {
		return filepath.Join("..", "docs", "profile.png")
	}
	return filepath.Join(t.TempDir(), "profile.png")
}

// TestBrowserSignInAPIAndSignOut signs in through the demo's simulated
// ZenKey in headless Chromium, as a person would: it picks the carrier,
// enters a PIN and approves, calls the API from the profile page, signs
// out, and checks that neither Back nor a reload shows the profile again.
//
// It needs Debian's chromium. Without it the test is skipped, unless
// ZENKEY_TEST_BROWSER is set (as in CI): then it fails.
func TestBrowserSignInAPIAndSignOut(t *testing.T) {
	ctx := newHeadlessChromium(t, findChromium(t))
	app := startApp(t, map[string]string{"ZENKEY_SECRET_KEY": key32})

	// Sign in: home, carrier picker, approval with a PIN, profile.
	approval := signInWithChromium(t, ctx, app.URL)
	assert.Equal(t, signInContext, approval, "the approval page shows the app's context")
	subject := text(t, ctx, "#subject")
	assert.True(t, strings.HasPrefix(subject, "310999-"), subject)
	assert.Contains(t, text(t, ctx, "main"), "jane.doe@example.com")

	// Call the API from the page, then keep the page for the README.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("call-api")),
		chromedp.WaitVisible(chromedp.CSS("#api-answer.ok")),
	))
	assert.Contains(t, text(t, ctx, "#api-answer"), `"message": "hello from the API"`)
	saveScreenshot(t, ctx)

	// Sign out, then Back and a reload: the profile must not come back.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("sign-out")),
		chromedp.WaitVisible(chromedp.CSS("a.button.zenkey")),
	))
	assert.Equal(t, app.URL+"/", location(t, ctx))
	goBack(t, ctx)
	assertSignedOut(t, ctx, subject, "after Back")
	require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
	assertSignedOut(t, ctx, subject, "after a reload")
}

// TestBrowserTransferApproval sends a transfer in headless Chromium: the
// first Send asks for an approval on the phone, which shows the transfer's
// text and brings the user back to the form, filled in; the second Send
// sends it.
func TestBrowserTransferApproval(t *testing.T) {
	ctx := newHeadlessChromium(t, findChromium(t))
	app := startApp(t, map[string]string{"ZENKEY_SECRET_KEY": key32})
	signInWithChromium(t, ctx, app.URL)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/transfer"),
		chromedp.SetValue(chromedp.ID("amount"), "75"),
		chromedp.SetValue(chromedp.ID("to"), "Carol & Dave"),
		chromedp.Click(chromedp.ID("send")),
		chromedp.Click(chromedp.CSS("a.button")), // Approve with ZenKey
		chromedp.WaitVisible(chromedp.CSS(".context")),
	))
	assert.Equal(t, "Send $75 to Carol & Dave", text(t, ctx, ".context"), "the phone shows it")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("pin"), "1234"),
		chromedp.Click(chromedp.CSS(`button[value="approve"]`)),
		chromedp.WaitVisible(chromedp.ID("send")),
	))
	assert.Equal(t, app.URL+"/transfer?amount=75&to=Carol+%26+Dave", location(t, ctx))
	assert.Equal(t, "75", value(t, ctx, "#amount"), "the form is filled with what was approved")
	assert.Equal(t, "Carol & Dave", value(t, ctx, "#to"))

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("send")),
		chromedp.WaitVisible(chromedp.ID("transfer-done")),
	))
	assert.Equal(t, "Sent $75 to Carol & Dave", text(t, ctx, "#transfer-done"))
}

// signInWithChromium signs in from the home page: the carrier picker, then
// the approval page with a PIN, until the profile shows. It returns the
// text the approval page showed.
func signInWithChromium(t *testing.T, ctx context.Context, appURL string) string {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(appURL),
		chromedp.Click(chromedp.CSS("a.button.zenkey")),
		chromedp.Click(chromedp.CSS(`button[name="mccmnc"][value="310999"]`)),
		chromedp.WaitVisible(chromedp.CSS(".context")),
	))
	approval := text(t, ctx, ".context")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("pin"), "1234"),
		chromedp.Click(chromedp.CSS(`button[value="approve"]`)),
		chromedp.WaitVisible(chromedp.ID("subject")),
	))
	return approval
}

// value returns the value of the form field the CSS selector finds.
func value(t *testing.T, ctx context.Context, selector string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(selector)))
	require.NoError(t, err, selector)
	return v
}

// settled is true once the page is either the profile or the simulated
// ZenKey's carrier picker, where a signed-out browser is sent.
const settled = `document.readyState === "complete" &&
	(document.getElementById("subject") !== null ||
	 document.body.innerText.includes("Choose your carrier"))`

// goBack presses the browser's Back button and waits for the page to
// settle. A page restored from the back/forward cache fires no load event,
// so the wait is on the page's content rather than on a load.
func goBack(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("history.back()"))
	require.NoError(t, err)
	for range 100 {
		// Evaluating fails while the navigation replaces the page: try again.
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](settled)); err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the page did not settle after Back: %s", location(t, ctx))
}

// findChromium returns the path of Chromium, or skips the test without it
// unless ZENKEY_TEST_BROWSER is set.
func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const help = "chromium is not installed (apt-get install chromium)"
	if os.Getenv("ZENKEY_TEST_BROWSER") != "" {
		t.Fatal(help + ", and ZENKEY_TEST_BROWSER requires the browser test")
	}
	t.Skip(help + ": skipping the browser test; set ZENKEY_TEST_BROWSER=1 to require it")
	return ""
}

// newHeadlessChromium starts Chromium with a fresh profile, quiet on the
// network (this machine reaches no outside host), for at most a minute.
func newHeadlessChromium(t *testing.T, path string) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1200, 900),
	)
	ctx, cancelTab := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	return ctx
}

// text returns the visible text of the first element the CSS selector finds.
func text(t *testing.T, ctx context.Context, selector string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
	require.NoError(t, err, selector)
	return strings.TrimSpace(s)
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	return loc
}

// assertSignedOut checks that the page is not the profile: no subject on
// it, and a sign-in in its place.
func assertSignedOut(t *testing.T, ctx context.Context, subject, when string) {
	t.Helper()
	body := text(t, ctx, "body")
	if strings.Contains(body, subject) {
		t.Errorf("the profile shows %s, at %s", when, location(t, ctx))
	}
	if !strings.Contains(body, "Choose your carrier") {
		t.Errorf("no sign-in is asked for %s, at %s:\n%s", when, location(t, ctx), body)
	}
}

// saveScreenshot saves the whole page to screenshotPath.
func saveScreenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	path := screenshotPath(t)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, png, 0o644))
}
