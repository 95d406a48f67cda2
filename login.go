package zenkey

import (
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// serveLogin starts a login: GET LoginPath[?return_to=/local/path]
// [&prompt=login|consent|none]. With carrier discovery the browser goes to
// ZenKey's discovery UI first; with Options.Issuer straight to the
// provider.
func (m *Middleware) serveLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "zenkey: login takes GET", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	f := &flow{ReturnTo: q.Get("return_to")}
	if !isLocalPath(f.ReturnTo) {
		f.ReturnTo = "/"
	}
	switch p := q.Get("prompt"); p {
	case "login", "consent", "none":
		f.Prompt = p
	}
	m.startLogin(w, r, f, false)
}

// startLogin stores a new login flow, binds it to the browser and sends the
// browser on: to carrier discovery (again with the carrier picker shown
// when pickAgain), or to the provider.
func (m *Middleware) startLogin(w http.ResponseWriter, r *http.Request, f *flow, pickAgain bool) {
	ctx := r.Context()
	f.Nonce = token(randomString(32))
	f.Verifier = token(oauth2.GenerateVerifier())
	f.CorrelationID = correlationID()
	f.Stage = stageDiscovery
	var p *provider
	if m.opts.Issuer != "" {
		var err error
		if p, err = m.providers.get(ctx, ""); err != nil {
			m.failProvider(w, r, err)
			return
		}
		f.Stage = stageAuthorize
	}
	state, err := m.createFlow(ctx, f)
	if err != nil {
		m.fail(w, r, http.StatusServiceUnavailable, reasonStore, err)
		return
	}
	if err := m.bindFlow(w, r, state); err != nil {
		m.fail(w, r, http.StatusInternalServerError, reasonStore, err)
		return
	}
	target := m.discoveryURL(state, pickAgain)
	if p != nil {
		target = m.authorizeURL(p, state, f)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

// bindFlow adds a flow's state to the browser's login cookie, keeping the
// newest maxPendingFlows.
func (m *Middleware) bindFlow(w http.ResponseWriter, r *http.Request, state string) error {
	states := append(m.readLoginStates(r), state)
	if len(states) > maxPendingFlows {
		states = states[len(states)-maxPendingFlows:]
	}
	return m.writeLoginStates(w, states)
}

// discoveryURL is ZenKey's carrier discovery UI for a login.
func (m *Middleware) discoveryURL(state string, pickAgain bool) string {
	q := url.Values{
		"client_id":    {m.opts.ClientID},
		"redirect_uri": {m.opts.RedirectURL},
		"state":        {state},
	}
	if pickAgain {
		q.Set("prompt", "true")
	}
	return m.opts.DiscoveryUIURL + "?" + q.Encode()
}

// authorizeURL is the provider's authorization request for a login: code
// flow with S256 PKCE, a nonce, and ZenKey's parameters.
func (m *Middleware) authorizeURL(p *provider, state string, f *flow) string {
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(string(f.Verifier)),
		oauth2.SetAuthURLParam("nonce", string(f.Nonce)),
	}
	set := func(name, value string) {
		if value != "" {
			opts = append(opts, oauth2.SetAuthURLParam(name, value))
		}
	}
	acr, text := m.opts.ACR, m.opts.Context
	if a := f.Approval; a != nil {
		text = a.Context
		if m.opts.Issuer == "" {
			// An approval is made with a PIN or biometric even when
			// logins ask for less: the callback requires a3 of it. A
			// standard provider knows no a3 and keeps Options.ACR.
			acr = "a3"
		}
	}
	set("acr_values", acr)
	set("prompt", f.Prompt)
	if m.opts.Issuer == "" {
		set("correlation_id", f.CorrelationID)
		set("login_hint_token", string(f.LoginHintToken))
		set("context", text)
	}
	return p.oauth.AuthCodeURL(state, opts...)
}
