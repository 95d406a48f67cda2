package zenkey_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/zenkey-go/zenkey"
)

// formTap stands between the app and the provider: it records the form of
// every request the app POSTs there, as it leaves the app (code exchanges
// with their PKCE code verifier, refreshes, revocations, each with its
// client assertion under private_key_jwt), and a test may rewrite the
// answers to refresh requests.
type formTap struct {
	base    http.RoundTripper
	mu      sync.Mutex
	forms   []url.Values
	rewrite func(answer map[string]any) // when set
}

// install puts the tap between o's HTTP client and the provider.
func (t *formTap) install(o *zenkey.Options) {
	c := *o.HTTPClient
	t.base, c.Transport = c.Transport, t
	o.HTTPClient = &c
}

// values returns every value of the form field name the app sent, oldest
// first.
func (t *formTap) values(name string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, f := range t.forms {
		if v := f.Get(name); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// lastForm returns the form of the last token request with grant_type.
func (t *formTap) lastForm(grantType string) url.Values {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.forms) - 1; i >= 0; i-- {
		if t.forms[i].Get("grant_type") == grantType {
			return t.forms[i]
		}
	}
	return nil
}

func (t *formTap) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.Body == nil {
		return t.base.RoundTrip(req)
	}
	form, out, err := readForm(req)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.forms = append(t.forms, form)
	rewrite := t.rewrite
	t.mu.Unlock()
	resp, err := t.base.RoundTrip(out)
	if err != nil || rewrite == nil || form.Get("grant_type") != "refresh_token" {
		return resp, err
	}
	return rewriteAnswer(resp, rewrite)
}

// rewriteAnswer passes the JSON answer in resp through rewrite.
func rewriteAnswer(resp *http.Response, rewrite func(map[string]any)) (*http.Response, error) {
	var answer map[string]any
	err := json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	rewrite(answer)
	b, err := json.Marshal(answer)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	return resp, err
}
