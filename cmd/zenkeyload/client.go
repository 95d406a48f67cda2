package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// A client plays the browsers of a run against one app, whether the app
// runs in this process or is the example app running in another: it signs
// browsers in, makes signed-in requests and signs them out.
type client struct {
	appURL    string // as browsers address it: http://HOST:PORT
	appAddr   string // IP:PORT, where the load connects
	transport *http.Transport
}

// newClient returns a client of the app at appURL, which listens at
// appAddr. Its connections go to loopback only, and localhost to dialIP,
// the address the app listens on.
func newClient(appURL, appAddr, dialIP string, conns int) *client {
	return &client{
		appURL:  appURL,
		appAddr: appAddr,
		transport: &http.Transport{
			Proxy:               nil,
			DialContext:         loopbackDialer(dialIP),
			MaxIdleConnsPerHost: conns + 4,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// close closes the idle connections of the browsers.
func (c *client) close() { c.transport.CloseIdleConnections() }

// loopbackDialer dials localhost at the address the servers listen on,
// rather than trying ::1 and 127.0.0.1 in turn, and refuses any address
// that is not loopback.
func loopbackDialer(host string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if !isLoopback(h) {
			return nil, fmt.Errorf("zenkeyload: refusing to connect to %s: not loopback", addr)
		}
		if strings.EqualFold(h, "localhost") {
			addr = net.JoinHostPort(listenIP(host), port)
		}
		return d.DialContext(ctx, network, addr)
	}
}

// A browser is an HTTP client with its own cookie jar, following redirects
// like a browser.
type browser struct {
	*http.Client
	jar *cookiejar.Jar
}

func (c *client) newBrowser() *browser {
	jar, _ := cookiejar.New(nil) // no options: cannot fail
	return &browser{
		Client: &http.Client{Transport: c.transport, Jar: secureJar{jar},
			Timeout: 30 * time.Second},
		jar: jar,
	}
}

// secureJar treats every loopback origin as secure, as browsers do, so
// that the middleware's Secure __Host- cookies work over plain HTTP on
// 127.0.0.1 too (Go's jar makes that exception for localhost alone).
type secureJar struct{ jar *cookiejar.Jar }

func (j secureJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.jar.SetCookies(httpsURL(u), cookies)
}

func (j secureJar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(httpsURL(u)) }

func httpsURL(u *url.URL) *url.URL {
	c := *u
	if c.Scheme == "http" && isLoopback(c.Hostname()) {
		c.Scheme = "https"
	}
	return &c
}

// cookieHeader is the Cookie header the browser sends to the app.
func (c *client) cookieHeader(br *browser) string {
	u, _ := url.Parse(c.appURL)
	var pairs []string
	for _, k := range br.jar.Cookies(httpsURL(u)) {
		pairs = append(pairs, k.Name+"="+k.Value)
	}
	return strings.Join(pairs, "; ")
}

// errStatus is an unexpected answer on a step of a cycle.
type errStatus struct {
	step   string
	status int
	path   string
}

func (e *errStatus) Error() string {
	return fmt.Sprintf("%s: status %d at %s", e.step, e.status, e.path)
}

// A page is the last answer of a request whose redirects were followed.
type page struct {
	status int
	url    *url.URL // where the redirects ended
	body   string
}

// get sends a GET as a navigation (accepting HTML) or an API call
// (accepting JSON), and follows the redirects.
func (br *browser) get(ctx context.Context, target string, nav bool) (page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return page{}, err
	}
	req.Header.Set("Accept", map[bool]string{true: "text/html", false: "application/json"}[nav])
	return br.do(req)
}

// post submits a form as a browser does from a page of the target's own
// origin, as every form the tool submits is: with its Origin and fetch
// metadata, which the app's logout checks (http.CrossOriginProtection).
func (br *browser) post(ctx context.Context, target string, form url.Values) (page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target,
		strings.NewReader(form.Encode()))
	if err != nil {
		return page{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Origin", origin(req.URL))
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return br.do(req)
}

func (br *browser) do(req *http.Request) (page, error) {
	resp, err := br.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return page{resp.StatusCode, resp.Request.URL, string(body)}, err
}

// maxLoginPages is how many provider pages a login may go through: the
// carrier picker and the approval page. A page shown again (a form that
// was refused) ends the login as failed rather than looping.
const maxLoginPages = 2

// login signs the browser in: the login path, carrier discovery, the
// provider's approval, the callback, and back to the profile. Where the
// provider shows pages rather than answering at once (the example's
// simulated ZenKey), it fills them in as a person would.
func (c *client) login(ctx context.Context, br *browser) error {
	p, err := br.get(ctx, c.appURL+"/auth/login?return_to=/profile", true)
	for pages := 0; err == nil; pages++ {
		atApp := c.isApp(p.url)
		if atApp && p.status == http.StatusOK && p.url.Path == "/profile" {
			return nil
		}
		if !atApp && p.url.Path == "/auth/callback" {
			return fmt.Errorf("login: the app's callback is at %s, and -app says %s: use the "+
				"origin the app prints, as its cookies are bound to it", origin(p.url), c.appURL)
		}
		form, ok := providerForm(p)
		if atApp || !ok || pages == maxLoginPages {
			return &errStatus{"login", p.status, p.url.Path}
		}
		p, err = br.post(ctx, form.action, form.values)
	}
	return fmt.Errorf("login: %w", err)
}

// isApp reports whether u is at the app's origin, rather than the
// provider's.
func (c *client) isApp(u *url.URL) bool { return origin(u) == c.appURL }

// origin is u's scheme and host: http://HOST:PORT.
func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

// logout signs the browser out with a same-origin form post, and follows
// the redirect home.
func (c *client) logout(ctx context.Context, br *browser) error {
	p, err := br.post(ctx, c.appURL+"/auth/logout", nil)
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if p.status != http.StatusOK || p.url.Path != "/" {
		return &errStatus{"logout", p.status, p.url.Path}
	}
	return nil
}

// profile asks for the profile as an API call would: 200 signed in, 401
// signed out.
func (c *client) profile(ctx context.Context, br *browser) (int, error) {
	p, err := br.get(ctx, c.appURL+"/profile", false)
	if err != nil {
		return 0, fmt.Errorf("profile: %w", err)
	}
	if p.status != http.StatusOK {
		return p.status, nil
	}
	var answer struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal([]byte(p.body), &answer); err != nil || answer.Sub == "" {
		return p.status, errors.New("profile: no subject in " + p.url.Path)
	}
	return p.status, nil
}
