package zenkey_test

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/internal/syncbuf"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// TestAPIProxyPrefixes forwards the same call through prefixes written with
// and without a trailing slash: the upstream sees one clean path either way.
func TestAPIProxyPrefixes(t *testing.T) {
	for _, prefix := range []string{"/api/", "/api"} {
		t.Run(prefix, func(t *testing.T) {
			upstream := newAPI(t)
			h := newHarness(t, nil)
			u, _ := url.Parse(upstream.URL + "/v1")
			h.mux.Handle("/api/", h.zk.APIProxy(prefix, u))
			h.login()

			p := h.do(h.browser, http.MethodGet, "/api/items", false)
			require.Equal(t, http.StatusOK, p.status, p.body)
			assert.Equal(t, "api:/v1/items:", p.body)
		})
	}
}

// TestAPIProxyAnswersNavigations401 sends a signed-out browser navigation
// to the proxy: an API never answers with a login redirect.
func TestAPIProxyAnswersNavigations401(t *testing.T) {
	upstream := newAPI(t)
	h := newHarness(t, nil)
	u, _ := url.Parse(upstream.URL)
	h.mux.Handle("/api/", h.zk.APIProxy("/api/", u))

	p := h.do(h.browser, http.MethodGet, "/api/items", true)
	assert.Equal(t, http.StatusUnauthorized, p.status)
	assert.Zero(t, upstream.count())
}

// TestAPIProxyStreams checks that bodies flow through the proxy as they are
// written, both ways: the upstream reads the first line of the request
// before the browser has sent the second, and the browser reads the first
// line of the answer before the upstream has written the second.
func TestAPIProxyStreams(t *testing.T) {
	requestLine, answerLine := make(chan string, 1), make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line, _ := bufio.NewReader(r.Body).ReadString('\n')
		requestLine <- line
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-answerLine
		io.WriteString(w, "second\n")
	}))
	t.Cleanup(api.Close)
	h := newHarness(t, nil)
	u, _ := url.Parse(api.URL)
	h.mux.Handle("/api/", h.zk.APIProxy("/api/", u))
	h.login()

	body, sender := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, h.app.URL+"/api/upload", body)
	req.Header.Set("X-Requested-With", "fetch")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := h.browser.Do(req)
		assert.NoError(t, err)
		answered <- resp
	}()

	io.WriteString(sender, "part one\n")
	select {
	case line := <-requestLine:
		assert.Equal(t, "part one\n", line, "the upstream read the request while it was sent")
	case <-time.After(5 * time.Second):
		t.Fatal("the proxy held the request body back")
	}
	sender.Close()

	var resp *http.Response
	select {
	case resp = <-answered:
	case <-time.After(5 * time.Second):
		t.Fatal("the proxy held the answer back")
	}
	require.NotNil(t, resp)
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	first, _ := r.ReadString('\n')
	assert.Equal(t, "first\n", first, "the browser read the answer while it was written")
	close(answerLine)
	rest, _ := io.ReadAll(r)
	assert.Equal(t, "second\n", string(rest))
}

// TestAPIProxyKeepsCallsBelowTheUpstreamPath sends paths that the upstream,
// or a server in front of it, could resolve out of the upstream's base
// path: a dot segment, an encoded slash or a backslash. Each is refused
// before the upstream hears of it with the user's token. Other paths go
// upstream as the browser wrote them.
func TestAPIProxyKeepsCallsBelowTheUpstreamPath(t *testing.T) {
	upstream := newAPI(t)
	h := newHarness(t, nil)
	u, _ := url.Parse(upstream.URL + "/v1")
	h.mux.Handle("/api/", h.zk.APIProxy("/api/", u))
	h.login()

	tests := []struct {
		path string // the request target, exactly as the browser sends it
		want string // what the upstream receives; "" when refused
	}{
		{"/api/..%2fadmin", ""},
		{"/api/%2e%2e%2fadmin", ""},
		{"/api/x/..%2f..%2fadmin", ""},
		{"/api/x/%2E%2E/admin", ""},
		{"/api/x/%2e/admin", ""},
		{"/api/x%2Fy", ""},
		{"/api/..%5cadmin", ""},
		{`/api/..\admin`, ""},
		{"/api/a..b/.c/%41", "/v1/a..b/.c/%41"},
		{"/api/a%20b", "/v1/a%20b"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			before := upstream.count()
			req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/", nil)
			req.URL.Opaque = tt.path
			resp, err := h.browser.Do(req)
			require.NoError(t, err)
			resp.Body.Close()

			if tt.want == "" {
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
				assert.Equal(t, before, upstream.count(), "the upstream heard of it")
				return
			}
			require.Equal(t, http.StatusOK, resp.StatusCode)
			got, _ := upstream.last()
			assert.Equal(t, tt.want, got.RequestURI)
		})
	}
}

// TestAPIProxyLogsOnlyToTheLogger breaks off an upstream's answer, which
// the reverse proxy reports: to Options.Logger when there is one, and
// never to the standard log, which an app without a logger keeps silent.
func TestAPIProxyLogsOnlyToTheLogger(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, _ := http.NewResponseController(w).Hijack()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
		buf.Flush()
		conn.Close()
	}))
	t.Cleanup(api.Close)
	u, _ := url.Parse(api.URL)

	for _, withLogger := range []bool{false, true} {
		t.Run(fmt.Sprintf("logger %v", withLogger), func(t *testing.T) {
			std, logged := &syncbuf.Buffer{}, &syncbuf.Buffer{}
			out, flags := log.Writer(), log.Flags()
			log.SetOutput(std)
			t.Cleanup(func() { log.SetOutput(out); log.SetFlags(flags) })
			h := newHarness(t, func(o *zenkey.Options) {
				if withLogger {
					o.Logger = slog.New(slog.NewTextHandler(logged, nil))
				}
			})
			h.mux.Handle("/api/", h.zk.APIProxy("/api/", u))
			h.login()

			// The browser sees a broken answer: only the logs matter here.
			if resp, err := h.browser.Get(h.app.URL + "/api/items"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}

			assert.NotContains(t, std.String(), "ReverseProxy", "the standard log")
			if withLogger {
				assert.Contains(t, logged.String(), "ReverseProxy", "the app's logger")
			}
		})
	}
}

// TestClientStreamsRequestBody has an API answer before it reads the
// request body, then read the rest: the client keeps sending the body
// after the answer's headers arrived.
func TestClientStreamsRequestBody(t *testing.T) {
	got := make(chan string, 1)
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		io.WriteString(w, "ready\n")
		w.(http.Flusher).Flush()
		b, err := io.ReadAll(r.Body)
		if err != nil {
			b = []byte("read error: " + err.Error())
		}
		got <- string(b)
	}))
	t.Cleanup(api.Close)
	h := newHarness(t, func(o *zenkey.Options) { o.APIOrigins = []string{api.URL} })
	upload := func(w http.ResponseWriter, r *http.Request) {
		body, sender := io.Pipe()
		answered := make(chan struct{})
		go func() {
			io.WriteString(sender, "part one\n")
			<-answered
			io.WriteString(sender, "part two\n")
			sender.Close()
		}()
		client := zenkey.SessionFromContext(r.Context()).Client()
		resp, err := client.Post(api.URL+"/upload", "text/plain", body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		bufio.NewReader(resp.Body).ReadString('\n')
		close(answered)
		select {
		case s := <-got:
			io.WriteString(w, s)
		case <-time.After(5 * time.Second):
			io.WriteString(w, "the API never read the whole body")
		}
	}
	h.mux.Handle("/upload", h.zk.RequireLogin(http.HandlerFunc(upload)))
	h.login()

	p := h.do(h.browser, http.MethodGet, "/upload", false)
	assert.Equal(t, "part one\npart two\n", p.body)
}

// TestAPIProxyRefusesUnsafeUpstreams builds proxies to upstreams that
// Options.APIOrigins would refuse: construction panics, like http.Handle
// with a nil handler, rather than the first request or a token in clear.
func TestAPIProxyRefusesUnsafeUpstreams(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		upstream string // "" for nil
		panics   bool
	}{
		{"", true},
		{"http://api.example/v1", true},
		{"api.example/v1", true},
		{"/v1", true},
		{"ftp://api.example", true},
		{"https://api.example/v1", false},
		{"http://127.0.0.1:8080/v1", false},
		{"http://localhost:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.upstream, func(t *testing.T) {
			var u *url.URL
			if tt.upstream != "" {
				u, _ = url.Parse(tt.upstream)
			}
			build := func() { h.zk.APIProxy("/api/", u) }
			if tt.panics {
				assert.Panics(t, build)
			} else {
				assert.NotPanics(t, build)
			}
		})
	}
}

// TestAPIProxyRefreshFailures fails the refresh an API call needs in each
// way it can fail. The answer says whose failure it was: 401 when the
// session is over, 502 when the provider failed, 503 when the store did.
func TestAPIProxyRefreshFailures(t *testing.T) {
	tests := []struct {
		name   string
		fault  func(h *harness, store *brokenStore)
		status int
		reason string
	}{
		{"refresh refused", func(h *harness, _ *brokenStore) {
			h.idp.SetTokenError("invalid_grant")
		}, http.StatusUnauthorized, "refresh_refused"},
		{"provider down", func(h *harness, _ *brokenStore) {
			h.idp.Fail(zenkeytest.Refresh, http.StatusServiceUnavailable)
			h.idp.Fail(zenkeytest.Token, http.StatusServiceUnavailable)
		}, http.StatusBadGateway, "provider_unavailable"},
		{"store fails", func(_ *harness, store *brokenStore) {
			store.breakOp("Update", "fails")
		}, http.StatusServiceUnavailable, "store_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var reasons []string
			h, store := storeHarness(t, func(o *zenkey.Options) {
				o.OnEvent = func(e zenkey.Event) {
					mu.Lock()
					defer mu.Unlock()
					if e.Kind == zenkey.EventRejection {
						reasons = append(reasons, e.Reason)
					}
				}
			})
			upstream := newAPI(t)
			u, _ := url.Parse(upstream.URL)
			h.mux.Handle("/api/", h.zk.APIProxy("/api/", u))
			h.login()
			h.clock.Advance(30 * time.Minute)
			tt.fault(h, store)

			p := h.do(h.browser, http.MethodGet, "/api/items", false)

			assert.Equal(t, tt.status, p.status, p.body)
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, []string{tt.reason}, reasons)
			assert.Zero(t, upstream.count())
		})
	}
}

// TestAPIProxyForwardsTheIDToken checks Options.IDTokenHeader through the
// proxy: the upstream gets the session's id_token in that header, in place
// of any value the browser sent, and never the browser's cookies.
func TestAPIProxyForwardsTheIDToken(t *testing.T) {
	upstream := newAPI(t)
	h := newHarness(t, func(o *zenkey.Options) { o.IDTokenHeader = "X-Id-Token" })
	u, _ := url.Parse(upstream.URL)
	h.mux.Handle("/api/", h.zk.APIProxy("/api/", u))
	h.login()

	req, _ := http.NewRequest(http.MethodGet, h.app.URL+"/api/items", nil)
	req.Header.Set("X-Id-Token", "from-the-browser")
	resp, err := h.browser.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	got, _ := upstream.last()
	issued := h.issuedTokens()
	require.NotEmpty(t, issued["id_token"])
	assert.Equal(t, []string{issued["id_token"]}, got.Header.Values("X-Id-Token"))
	assert.Equal(t, "Bearer "+issued["access_token"], got.Header.Get("Authorization"))
	assert.Empty(t, got.Header.Values("Cookie"), "the browser's cookies stay here")
}
