package zenkey

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// ErrSessionEnded means the session ended while a handler used it: it was
// logged out or timed out, or its refresh was refused (invalid_grant) or
// named another user. Send the user to login.
var ErrSessionEnded = errors.New("zenkey: session ended")

// ErrNoRefreshToken means the access token expired and the session has no
// refresh token to renew it (the login did not ask for offline_access).
var ErrNoRefreshToken = errors.New("zenkey: access token expired and the session cannot refresh it")

const (
	// leaseTime bounds how long one caller may hold a session's refresh
	// lease: longer than a refresh can take (HTTP timeout included).
	leaseTime = 15 * time.Second
	// refreshTimeout bounds a whole refresh, waiting for a lease included.
	refreshTimeout = 20 * time.Second
)

// AccessToken returns a valid access token for the session, refreshing it
// first when it expires within Options.RefreshSkew. One refresh runs at a
// time per session across every app instance sharing the store; other
// callers wait for it and reuse its result. The token is for calls from the
// server: never hand it to the browser.
func (s *Session) AccessToken(ctx context.Context) (string, error) {
	d, err := s.fresh(ctx)
	if err != nil {
		return "", err
	}
	return string(d.AccessToken), nil
}

// fresh returns the session's data with an access token valid for at least
// RefreshSkew, refreshing it when needed.
func (s *Session) fresh(ctx context.Context) (*sessionData, error) {
	d, err := s.open()
	if err != nil {
		return nil, err
	}
	if !s.m.needsRefresh(d) {
		return d, nil
	}
	key := s.record().Key
	rec, d, err := s.m.flights.do(key, func() (*Record, *sessionData, error) {
		// The refresh serves every waiting caller: it must not end when
		// the request that started it goes away.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
		defer cancel()
		return s.m.refresh(ctx, key)
	})
	if err != nil {
		return nil, err
	}
	s.replace(rec, d)
	return d, nil
}

func (m *Middleware) needsRefresh(d *sessionData) bool {
	return !m.now().Add(m.opts.RefreshSkew).Before(d.Expiry)
}

// refresh renews the session's tokens under its lease, or waits for the
// caller holding the lease and returns its result. A wait that outlasts
// the refresh's time is not reported: the callers that held the lease
// meanwhile failed or were slow, and reported it.
func (m *Middleware) refresh(ctx context.Context, key string) (*Record, *sessionData, error) {
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		rec, err := m.store.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			return nil, nil, ErrSessionEnded
		}
		if err != nil {
			return nil, nil, m.storeFailed(ctx, reasonStore, err)
		}
		now := m.now()
		if !rec.Live(now) {
			return nil, nil, ErrSessionEnded
		}
		d, err := m.openSession(rec)
		if err != nil {
			return nil, nil, m.storeFailed(ctx, reasonVault, err)
		}
		if change := m.unsaved.take(rec); change != nil {
			return m.storeUnsaved(ctx, rec, d, change)
		}
		switch {
		case !m.needsRefresh(d):
			return rec, d, nil // refreshed by another caller
		case d.RefreshToken == "":
			return nil, nil, ErrNoRefreshToken
		case rec.LeaseUntil.After(now):
			if err := sleep(ctx, wait); err != nil {
				return nil, nil, err
			}
			continue
		}
		rec.LeaseUntil = now.Add(leaseTime)
		if err := m.store.Update(ctx, rec); errors.Is(err, ErrConflict) {
			continue // another caller took the lease, or logout
		} else if err != nil {
			return nil, nil, m.storeFailed(ctx, reasonStore, err)
		}
		return m.refreshLeased(ctx, rec, d)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refreshLeased redeems the refresh token while holding the lease, checks
// the new id_token, and stores the new tokens with the lease released.
func (m *Middleware) refreshLeased(ctx context.Context, rec *Record,
	d *sessionData) (*Record, *sessionData, error) {
	p, err := m.providers.get(ctx, d.MCCMNC)
	if err != nil {
		m.releaseLease(ctx, rec)
		return nil, nil, m.providerFailed(ctx, d, err)
	}
	tok, err := m.redeemRefreshToken(ctx, p, d)
	if reasonOf(err, "") == reasonRefresh {
		return nil, nil, m.endSession(ctx, rec, err)
	}
	if err != nil {
		m.releaseLease(ctx, rec)
		return nil, nil, m.providerFailed(ctx, d, err)
	}
	idToken, err := m.checkRefreshed(ctx, p, d, tok)
	if reasonOf(err, "") == reasonProviderDown {
		m.keepRefreshToken(ctx, rec, d, tok)
		return nil, nil, m.providerFailed(ctx, d, err)
	}
	if err != nil {
		m.revokeOrphans(d, tok)
		return nil, nil, m.endSession(ctx, rec, err)
	}
	key, lease, change := rec.Key, rec.LeaseUntil, m.refreshed(tok, idToken)
	rec, next, err := m.storeRefreshed(ctx, rec, d, change)
	switch {
	case errors.Is(err, ErrSessionEnded), errors.Is(err, errLeaseLost):
		m.revokeOrphans(d, tok)
		return nil, nil, m.storeFailed(ctx, reasonStore, err)
	case err != nil:
		m.unsaved.put(key, lease, change)
		return nil, nil, m.storeFailed(ctx, reasonStore, err)
	}
	m.emit(ctx, slog.LevelInfo, "zenkey: tokens refreshed", Event{Kind: EventRefresh,
		Issuer: d.Issuer})
	return rec, next, nil
}

// storeUnsaved writes a refresh result that an outage kept from the store
// (see unsavedRefreshes), and releases the lease.
func (m *Middleware) storeUnsaved(ctx context.Context, rec *Record, d *sessionData,
	change func(*sessionData)) (*Record, *sessionData, error) {
	key, lease := rec.Key, rec.LeaseUntil
	rec, next, err := m.storeRefreshed(ctx, rec, d, change)
	if err != nil && !errors.Is(err, ErrSessionEnded) && !errors.Is(err, errLeaseLost) {
		m.unsaved.put(key, lease, change) // the store is still down: later
	}
	if err != nil {
		return nil, nil, m.storeFailed(ctx, reasonStore, err)
	}
	m.emit(ctx, slog.LevelInfo, "zenkey: tokens refreshed", Event{Kind: EventRefresh,
		Issuer: d.Issuer})
	return rec, next, nil
}

// revokeOrphans revokes the tokens a refresh got but no session will keep:
// the session was logged out while the provider answered, or another
// caller took over the lease, or the id_token failed a check. The provider
// has rotated the refresh token already, so the old one, revoked by a
// logout, does not stand for these. (A write the store could not take is
// kept for later instead: see unsavedRefreshes.)
func (m *Middleware) revokeOrphans(d *sessionData, tok *oauth2.Token) {
	m.revokeLater(&sessionData{MCCMNC: d.MCCMNC,
		AccessToken: token(tok.AccessToken), RefreshToken: token(tok.RefreshToken)})
}

// redeemRefreshToken asks the provider for new tokens. ZenKey ties a
// login's token and userinfo calls together by its correlation_id, which
// the refresh request carries as the code exchange did. x/oauth2 builds
// that request with no room for another parameter, and its Exchange would
// add a code and a redirect_uri: the request goes instead through a client
// that adds the one field to the form x/oauth2 wrote.
func (m *Middleware) redeemRefreshToken(ctx context.Context, p *provider,
	d *sessionData) (*oauth2.Token, error) {
	client := m.tokenClient
	if d.CorrelationID != "" && m.opts.Issuer == "" {
		client = withFormField(client, "correlation_id", d.CorrelationID)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	expired := &oauth2.Token{RefreshToken: string(d.RefreshToken), Expiry: time.Unix(1, 0)}
	tok, err := p.oauth.TokenSource(ctx, expired).Token()
	if err != nil {
		return nil, refreshError(err)
	}
	return tok, nil
}

// refreshError classifies a failed refresh request: the provider refused
// the refresh token (invalid_grant: the session must end), refused the
// request (provider_error), or failed, could not be reached or answered
// garbage (provider_unavailable).
func refreshError(err error) error {
	var re *oauth2.RetrieveError
	switch {
	case !errors.As(err, &re) || re.ErrorCode == "":
		return reject(reasonProviderDown, "zenkey: refresh: %w", err)
	case re.ErrorCode == "invalid_grant":
		return reject(reasonRefresh, "zenkey: refresh refused: invalid_grant")
	case re.Response != nil && re.Response.StatusCode >= 500:
		return reject(reasonProviderDown, "zenkey: refresh: %w", err)
	}
	return reject(reasonProviderError, "zenkey: refresh refused: %s", re.ErrorCode)
}

// refreshed is the change a refresh's new tokens make to the session.
func (m *Middleware) refreshed(tok *oauth2.Token, idToken token) func(*sessionData) {
	return func(d *sessionData) {
		d.AccessToken = token(tok.AccessToken)
		d.RefreshToken = token(tok.RefreshToken) // x/oauth2 keeps the old one if none came
		d.TokenType = tok.TokenType
		d.Expiry = m.tokenExpiry(tok)
		d.UserInfo = nil
		if idToken != "" {
			d.IDToken = idToken
		}
	}
}

// checkRefreshed checks a refresh's id_token, when there is one, against
// the login's: same iss, sub and aud, the login's nonce or none, the same
// auth_time, and every rule of a login. It returns the id_token, or ""
// when the provider sent none and the login's stays.
//
// An id_token that is there but not a non-empty string (a number, an
// object, "") is refused, as at login: taking it for none would skip every
// check. OpenID Connect token responses are JSON, whose missing fields
// x/oauth2 reports as nil; it would report a missing field of a
// form-encoded answer as "", which is refused too.
func (m *Middleware) checkRefreshed(ctx context.Context, p *provider, d *sessionData,
	tok *oauth2.Token) (token, error) {
	field := tok.Extra("id_token")
	if field == nil {
		return "", nil
	}
	raw, _ := field.(string)
	if raw == "" {
		return "", reject(reasonMalformedToken,
			"zenkey: refreshed id_token is not a non-empty string")
	}
	_, err := m.verifyIDToken(ctx, p, raw, expectation{
		nonce:       string(d.Nonce),
		acr:         m.opts.ACR,
		accessToken: tok.AccessToken,
		previous:    d,
	})
	if err != nil {
		return "", err
	}
	return token(raw), nil
}

// keepRefreshToken stores only the rotated refresh token of a refresh whose
// id_token cannot be checked yet (the provider's keys are unavailable), and
// releases the lease. The provider has invalidated the old refresh token:
// losing the new one would end the session. The access token is not used
// until a later refresh brings an id_token that passes every check.
func (m *Middleware) keepRefreshToken(ctx context.Context, rec *Record, d *sessionData,
	tok *oauth2.Token) {
	_, _, err := m.storeRefreshed(ctx, rec, d, func(d *sessionData) {
		d.RefreshToken = token(tok.RefreshToken)
	})
	if err != nil && !errors.Is(err, ErrSessionEnded) {
		m.emit(ctx, slog.LevelWarn, "zenkey: rotated refresh token not kept",
			Event{Kind: EventStoreError, Reason: reasonOf(err, reasonStore), Err: err})
	}
}

// errLeaseLost means a refresh outlasted its lease and another caller
// took the lease over: that caller's result must not be overwritten.
var errLeaseLost = errors.New("zenkey: refresh outlasted its lease; another caller refreshes the " +
	"session now")

// storeRefreshed writes a refresh's result: change applied to the
// session's data, with the lease released. The provider has rotated the
// refresh token already, so the write must not be lost. A store error is
// tried again a few times. A write by another request meanwhile (a cached
// userinfo, an approval) is not overwritten: change is applied again to
// the record as it now is. Only a logout (the record is gone, and stays
// gone) or a lost lease stop it.
func (m *Middleware) storeRefreshed(ctx context.Context, rec *Record, d *sessionData,
	change func(*sessionData)) (*Record, *sessionData, error) {
	lease, wait := rec.LeaseUntil, 50*time.Millisecond
	for tries := 0; ; tries++ {
		next, out := *d, *rec
		change(&next)
		out.LeaseUntil = time.Time{}
		if err := m.sealSession(&out, &next); err != nil {
			return nil, nil, err
		}
		err := m.store.Update(ctx, &out)
		switch {
		case err == nil:
			return &out, &next, nil
		case tries == 4:
			return nil, nil, err
		case errors.Is(err, ErrConflict):
			rec, d, err = m.stillLeased(ctx, rec.Key, lease)
		default:
			err = sleep(ctx, wait)
			wait *= 2
		}
		if err != nil {
			return nil, nil, err
		}
	}
}

// sameLease reports whether two lease times are the same lease. Stores
// keep times to the millisecond.
func sameLease(a, b time.Time) bool { return a.Sub(b).Abs() < time.Millisecond }

// stillLeased reads a session's record again after a conflicting write
// during a refresh: the session must still be there and the lease still
// the one this refresh took.
func (m *Middleware) stillLeased(ctx context.Context, key string,
	lease time.Time) (*Record, *sessionData, error) {
	rec, err := m.store.Get(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil, ErrSessionEnded // logged out during the refresh
	case err != nil:
		return nil, nil, err
	case !rec.Live(m.now()):
		return nil, nil, ErrSessionEnded
	case !sameLease(rec.LeaseUntil, lease):
		return nil, nil, errLeaseLost
	}
	d, err := m.openSession(rec)
	return rec, d, err
}

// releaseLease gives the lease back after a refresh that failed without
// ending the session, so the next caller can try at once.
func (m *Middleware) releaseLease(ctx context.Context, rec *Record) {
	rec.LeaseUntil = time.Time{}
	if err := m.store.Update(ctx, rec); err != nil && !errors.Is(err, ErrConflict) {
		m.emit(ctx, slog.LevelWarn, "zenkey: refresh lease not released",
			Event{Kind: EventStoreError, Reason: reasonStore, Err: err})
	}
}

// endSession destroys a session whose refresh showed it must end, and
// returns ErrSessionEnded joined with the cause. The session counts as
// ended only once the store confirmed the delete. Until then its record
// lives on, the error joins the store's as well, and the lease is given
// back: the next request's refresh is refused again and tries the delete
// again, at once rather than when the lease runs out.
func (m *Middleware) endSession(ctx context.Context, rec *Record, cause error) error {
	if err := m.store.Delete(ctx, rec.Key); err != nil {
		m.emit(ctx, slog.LevelError, "zenkey: session to end not deleted",
			Event{Kind: EventStoreError, Reason: reasonStore, Err: err})
		m.releaseLease(ctx, rec)
		return errors.Join(ErrSessionEnded, cause, err)
	}
	m.emit(ctx, slog.LevelWarn, "zenkey: session ended by refresh",
		Event{Kind: EventSessionEnded, Reason: reasonOf(cause, reasonRefresh), Err: cause})
	return errors.Join(ErrSessionEnded, cause)
}

// storeFailed reports a store failure that stopped a refresh, under
// reason unless err carries its own, and returns err. A session that
// ended meanwhile (logged out, timed out) is no failure of the refresh.
func (m *Middleware) storeFailed(ctx context.Context, reason string, err error) error {
	if !errors.Is(err, ErrSessionEnded) {
		m.emit(ctx, slog.LevelError, "zenkey: refresh failed in the store",
			Event{Kind: EventStoreError, Reason: reasonOf(err, reason), Err: err})
	}
	return err
}

// providerFailed reports a provider failure that stopped the refresh of
// the session d, and returns err.
func (m *Middleware) providerFailed(ctx context.Context, d *sessionData, err error) error {
	reason := reasonOf(err, reasonProviderDown)
	if errors.Is(err, ErrProviderNotFound) {
		reason = reasonProviderNotFound
	}
	m.emit(ctx, slog.LevelError, "zenkey: refresh failed at the provider",
		Event{Kind: EventProviderError, Reason: reason, Issuer: d.Issuer, Err: err})
	return err
}

// withFormField returns a copy of c that adds name=value to the form of
// every request it sends.
func withFormField(c *http.Client, name, value string) *http.Client {
	out := *c
	out.Transport = formFieldTransport{
		base:  cmp.Or[http.RoundTripper](c.Transport, http.DefaultTransport),
		field: url.Values{name: {value}}.Encode(),
	}
	return &out
}

// formFieldTransport appends an encoded form field to each request body.
type formFieldTransport struct {
	base  http.RoundTripper
	field string // name=value, form-encoded
}

// RoundTrip implements http.RoundTripper.
func (t formFieldTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil {
		return nil, errors.New("zenkey: a form field goes with a request body only")
	}
	body, err := io.ReadAll(req.Body) // x/oauth2's form: a few hundred bytes
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		body = append(body, '&')
	}
	body = append(body, t.field...)
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return t.base.RoundTrip(out)
}

// flights runs one refresh per session key at a time in this process; the
// store's lease does the same across processes.
type flights struct {
	mu    sync.Mutex
	calls map[string]*flight
}

type flight struct {
	done chan struct{}
	rec  *Record
	data *sessionData
	err  error
}

// do runs fn for key unless a run for key is under way, in which case it
// waits for that run and returns its result.
func (f *flights) do(key string,
	fn func() (*Record, *sessionData, error)) (*Record, *sessionData, error) {
	f.mu.Lock()
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		<-c.done
		return c.rec, c.data, c.err
	}
	if f.calls == nil {
		f.calls = make(map[string]*flight)
	}
	c := &flight{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()

	c.rec, c.data, c.err = fn()
	f.mu.Lock()
	delete(f.calls, key)
	f.mu.Unlock()
	close(c.done)
	return c.rec, c.data, c.err
}
