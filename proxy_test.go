package zenkey_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
