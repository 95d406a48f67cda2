package zenkey

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"
)

const (
	maxCallbackQuery = 8 << 10 // a callback URL's whole query
	maxParamLen      = 4 << 10 // any one callback parameter
	defaultExpiresIn = 1800 * time.Second
)

// ZenKey's errors beyond OAuth's, as the browser is told about them.
var providerErrors = map[string]string{
	"access_denied":            "You declined the sign-in.",
	"authentication_timed_out": "The sign-in timed out on your phone. Please try again.",
	"network_failure": "ZenKey could not reach your phone. " +
		"Check its connection and try again.",
	"device_unavailable": "Your phone is not available for ZenKey right now. " +
		"Please try again later.",
	"user_unsupported":         "Your account cannot use ZenKey.",
	"invalid_login_hint":       "The sign-in could not find your phone. Please start again.",
	"invalid_login_hint_token": "The sign-in could not find your phone. Please start again.",
	"request_denied":           "The sign-in request was refused.",
}

// serveCallback handles the redirect back from the carrier discovery UI
// (mccmnc, state) and from the provider (code or error, state).
func (m *Middleware) serveCallback(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "zenkey: the callback takes GET", http.StatusMethodNotAllowed)
		return
	}
	q, err := callbackParams(r.URL)
	if err != nil {
		m.fail(w, r, http.StatusBadRequest, reasonCallback, err)
		return
	}
	state := q.Get("state")
	if !m.stateBound(r, state) {
		m.fail(w, r, http.StatusBadRequest, reasonState,
			errors.New("zenkey: callback state is not one this browser started"))
		return
	}
	switch {
	case q.Has("error"):
		m.callbackError(w, r, state, q)
	case q.Get("code") != "":
		m.finishLogin(w, r, state, q)
	case m.opts.Issuer == "" && q.Get("mccmnc") != "":
		m.afterDiscovery(w, r, state, q)
	default:
		m.fail(w, r, http.StatusBadRequest, reasonCallback,
			errors.New("zenkey: callback has neither code, error nor mccmnc"))
	}
}

// callbackParams parses a callback's query, refusing oversized input and
// repeated parameters (which parsers resolve differently).
func callbackParams(u *url.URL) (url.Values, error) {
	if len(u.RawQuery) > maxCallbackQuery {
		return nil, errors.New("zenkey: callback query too long")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errors.New("zenkey: callback query does not parse")
	}
	for name, values := range q {
		if len(values) != 1 {
			return nil, errors.New("zenkey: callback repeats parameter " + url.QueryEscape(name))
		}
		if len(values[0]) > maxParamLen {
			return nil, errors.New("zenkey: callback parameter too long: " + url.QueryEscape(name))
		}
	}
	return q, nil
}

// stateBound reports whether state is one of the logins this browser
// started, comparing in constant time.
func (m *Middleware) stateBound(r *http.Request, state string) bool {
	if state == "" {
		return false
	}
	found := 0
	for _, s := range m.readLoginStates(r) {
		found |= subtle.ConstantTimeCompare([]byte(s), []byte(state))
	}
	return found == 1
}

// afterDiscovery continues a login once the discovery UI found the user's
// carrier: fetch the carrier's configuration, then authorize there.
func (m *Middleware) afterDiscovery(w http.ResponseWriter, r *http.Request, state string,
	q url.Values) {
	ctx := r.Context()
	if !mccmncPattern.MatchString(q.Get("mccmnc")) {
		m.fail(w, r, http.StatusBadRequest, reasonCallback,
			errors.New("zenkey: discovery returned a carrier code that is not six digits"))
		return
	}
	rec, f, err := m.takeFlow(ctx, state, stageDiscovery)
	if err != nil {
		m.failFlow(w, r, err)
		return
	}
	p, err := m.providers.get(ctx, q.Get("mccmnc"))
	if err != nil {
		m.failProvider(w, r, err)
		return
	}
	f.Stage = stageAuthorize
	f.MCCMNC = p.mccmnc
	f.LoginHintToken = token(q.Get("login_hint_token"))
	if err := m.advanceFlow(ctx, rec, f); err != nil {
		m.failFlow(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, m.authorizeURL(p, state, f), http.StatusFound)
}

// callbackError ends a login the provider refused. user_not_found sends the
// user back to carrier discovery with the picker shown again.
func (m *Middleware) callbackError(w http.ResponseWriter, r *http.Request, state string,
	q url.Values) {
	_, f, err := m.takeFlow(r.Context(), state, 0)
	if err != nil {
		m.failFlow(w, r, err)
		return
	}
	m.endFlow(w, r, state)
	code := q.Get("error")
	cause := errors.New("zenkey: provider error " + url.QueryEscape(code) + ": " +
		q.Get("error_description"))
	if code == "user_not_found" && m.opts.Issuer == "" {
		m.log.LogAttrs(r.Context(), slog.LevelInfo,
			"zenkey: user not found at carrier, discovery again",
			slog.String("reason", reasonDenied))
		m.startLogin(w, r, &flow{ReturnTo: f.ReturnTo, Prompt: f.Prompt}, true)
		return
	}
	msg, ok := providerErrors[code]
	if !ok {
		msg = userMessages[reasonProviderError]
	}
	m.failWith(w, r, http.StatusBadRequest, reasonDenied, msg, cause)
}

// finishLogin exchanges the code, checks the id_token and starts the
// session.
func (m *Middleware) finishLogin(w http.ResponseWriter, r *http.Request, state string,
	q url.Values) {
	ctx := r.Context()
	_, f, err := m.takeFlow(ctx, state, stageAuthorize)
	if err != nil {
		m.failFlow(w, r, err)
		return
	}
	m.endFlow(w, r, state)
	if mcc := q.Get("mccmnc"); m.opts.Issuer == "" && mcc != "" && mcc != f.MCCMNC {
		m.fail(w, r, http.StatusBadRequest, reasonCallback,
			errors.New("zenkey: callback names another carrier than discovery"))
		return
	}
	p, err := m.providers.get(ctx, f.MCCMNC)
	if err != nil {
		m.failProvider(w, r, err)
		return
	}
	acr := m.opts.ACR
	if f.Approval != nil && m.opts.Issuer == "" {
		acr = "a3"
	}
	tok, v, err := m.exchange(ctx, p, f, q.Get("code"), acr)
	if err != nil {
		m.failLogin(w, r, err)
		return
	}
	if f.Approval != nil {
		// The approval's tokens served their purpose: revoke them.
		m.revokeLater(&sessionData{MCCMNC: p.mccmnc, AccessToken: token(tok.AccessToken),
			RefreshToken: token(tok.RefreshToken)})
		m.finishApproval(w, m.withSession(r), f, v)
		return
	}
	data := m.newSessionData(p, f, tok, v)
	data.PreviousSubjects = m.verifyPortTokens(ctx, v)
	m.beginSession(w, r, data, f.ReturnTo)
}

// exchange redeems the code with the PKCE verifier and checks the id_token,
// which must show at least acr.
func (m *Middleware) exchange(ctx context.Context, p *provider, f *flow,
	code, acr string) (*oauth2.Token, *verifiedToken, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, m.tokenClient)
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(string(f.Verifier))}
	if m.opts.Issuer == "" {
		opts = append(opts, oauth2.SetAuthURLParam("correlation_id", f.CorrelationID))
	}
	tok, err := p.oauth.Exchange(ctx, code, opts...)
	if err != nil {
		return nil, nil, exchangeError(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	v, err := m.verifyIDToken(ctx, p, raw, expectation{
		nonce:       string(f.Nonce),
		acr:         acr,
		accessToken: tok.AccessToken,
	})
	if err != nil {
		return nil, nil, err
	}
	return tok, v, nil
}

// exchangeError classifies a failed code exchange: the provider refused
// (400), or failed, could not be reached or answered garbage (502).
func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode != "" && re.Response.StatusCode < 500 {
		return reject(reasonExchange, "zenkey: code exchange refused: %s", re.ErrorCode)
	}
	return reject(reasonProviderDown, "zenkey: code exchange: %w", err)
}

// tokenExpiry is when an access token expires by our clock: expires_in
// from now, or ZenKey's default when the provider sent none.
func (m *Middleware) tokenExpiry(tok *oauth2.Token) time.Time {
	if tok.ExpiresIn > 0 {
		return m.now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	return m.now().Add(defaultExpiresIn)
}

func (m *Middleware) newSessionData(p *provider, f *flow, tok *oauth2.Token,
	v *verifiedToken) *sessionData {
	expiry := m.tokenExpiry(tok)
	var authTime int64 // read as checkLoginAuthTime will: 1.7e9 is a time too
	if at, ok := unixTime(v.claims.AuthTime); ok {
		authTime = at.Unix()
	}
	cid, _ := tok.Extra("correlation_id").(string)
	var strong time.Time
	if v.claims.ACR == "a3" {
		strong = m.authenticatedAt(v)
	}
	return &sessionData{
		StrongAuth:    strong,
		Issuer:        v.token.Issuer,
		Subject:       v.token.Subject,
		MCCMNC:        p.mccmnc,
		SID:           v.claims.SID,
		IDToken:       token(v.raw),
		AccessToken:   token(tok.AccessToken),
		RefreshToken:  token(tok.RefreshToken),
		TokenType:     tok.TokenType,
		Expiry:        expiry,
		Nonce:         f.Nonce,
		AuthTime:      authTime,
		CorrelationID: cmp.Or(cid, f.CorrelationID),
	}
}

// beginSession stores a new session for data under a fresh id, destroys the
// browser's earlier session, sets the cookie and returns the browser to
// where the login started.
func (m *Middleware) beginSession(w http.ResponseWriter, r *http.Request, data *sessionData,
	returnTo string) {
	ctx := r.Context()
	if old := m.sessionKey(r, m.now()); old != "" {
		if err := m.store.Delete(ctx, old); err != nil {
			m.fail(w, r, http.StatusServiceUnavailable, reasonStore, err)
			return
		}
	}
	id, err := m.createSession(ctx, data)
	if err != nil {
		m.fail(w, r, http.StatusServiceUnavailable, reasonStore, err)
		return
	}
	m.setSessionCookie(w, id)
	m.emit(ctx, slog.LevelInfo, "zenkey: signed in", Event{Kind: EventSignIn, Issuer: data.Issuer})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// createSession stores data as a new session record and returns its id.
func (m *Middleware) createSession(ctx context.Context, data *sessionData) ([]byte, error) {
	id, key := newSessionID()
	now := m.now()
	k := m.keys.current()
	rec := &Record{
		Key:              key,
		Created:          now,
		LastSeen:         now,
		IdleDeadline:     now.Add(m.opts.IdleTimeout),
		AbsoluteDeadline: now.Add(m.opts.AbsoluteTimeout),
		Subject:          k.indexHash(indexSubject, data.Subject),
		SID:              k.indexHash(indexSID, sidValue(data.Issuer, data.SID)),
	}
	if err := m.sealSession(rec, data); err != nil {
		return nil, err
	}
	return id, m.store.Create(ctx, rec)
}

// Index kinds, and the value a provider session is indexed under.
const (
	indexSubject = "sub"
	indexSID     = "sid"
)

func sidValue(issuer, sid string) string {
	if sid == "" {
		return ""
	}
	return issuer + "\x00" + sid
}

// endFlow removes a finished login's state from the browser and its
// record from the store. The record was already marked used, so a failed
// delete is only left for expiry.
func (m *Middleware) endFlow(w http.ResponseWriter, r *http.Request, state string) {
	var rest []string
	for _, s := range m.readLoginStates(r) {
		if s != state {
			rest = append(rest, s)
		}
	}
	m.writeLoginStates(w, rest)
	if err := m.store.Delete(r.Context(), flowKey(state)); err != nil {
		m.emit(r.Context(), slog.LevelWarn, "zenkey: used login state not deleted",
			Event{Kind: EventStoreError, Reason: reasonStore, Err: err})
	}
}

func (m *Middleware) failFlow(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errFlowGone) {
		m.fail(w, r, http.StatusBadRequest, reasonState, err)
		return
	}
	if errors.Is(err, errVaultOpen) {
		m.fail(w, r, http.StatusBadRequest, reasonVault, err)
		return
	}
	m.fail(w, r, http.StatusServiceUnavailable, reasonStore, err)
}

func (m *Middleware) failProvider(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrProviderNotFound) {
		m.fail(w, r, http.StatusBadRequest, reasonProviderNotFound, err)
		return
	}
	m.fail(w, r, http.StatusBadGateway, reasonProviderDown, err)
}

// failLogin answers a failed exchange or token check: tampering and
// refusals are the client's 400, an unreachable provider a 502.
func (m *Middleware) failLogin(w http.ResponseWriter, r *http.Request, err error) {
	reason := reasonOf(err, reasonTokenInvalid)
	status := http.StatusBadRequest
	if reason == reasonProviderDown {
		status = http.StatusBadGateway
	}
	if reason == reasonMalformedToken {
		m.log.LogAttrs(r.Context(), slog.LevelWarn,
			"zenkey: malformed id_token: possible tampering",
			slog.String("reason", reason))
	}
	m.fail(w, r, status, reason, err)
}
