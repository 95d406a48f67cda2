package zenkey

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

const maxUserInfoSize = 64 << 10

// ErrUserInfoMismatch means the provider's userinfo named another subject
// than the session's id_token: the answer is refused.
var ErrUserInfoMismatch = errors.New("zenkey: userinfo is about another subject than the session")

// UserInfo is what the provider's userinfo endpoint says about the user.
// ZenKey nests its claims (name{value,given_name,family_name},
// email{value}, phone{value}, postal_code{value}); standard providers send
// flat ones (name, given_name, family_name, email, phone_number,
// address{postal_code}). Both land in the same fields.
type UserInfo struct {
	Subject    string
	Name       string
	GivenName  string
	FamilyName string
	Email      string
	Phone      string
	PostalCode string

	// Claims holds every claim as the provider sent it.
	Claims map[string]json.RawMessage
}

// userInfoCache is a userinfo answer kept in the session.
type userInfoCache struct {
	Fetched time.Time       `json:"fetched"`
	Raw     json.RawMessage `json:"raw"`
}

// UserInfo asks the provider's userinfo endpoint about the session's user,
// with the session's access token (refreshed first when needed). The answer
// must name the session's subject. With Options.UserInfoTTL it is kept in
// the session for that long.
func (s *Session) UserInfo(ctx context.Context) (*UserInfo, error) {
	d, err := s.fresh(ctx)
	if err != nil {
		return nil, err
	}
	if c := d.UserInfo; c != nil && s.m.now().Sub(c.Fetched) < s.m.opts.UserInfoTTL {
		return decodeUserInfo(c.Raw, d.Subject)
	}
	raw, err := s.m.fetchUserInfo(ctx, d)
	if err != nil {
		return nil, err
	}
	info, err := decodeUserInfo(raw, d.Subject)
	if err != nil {
		return nil, err
	}
	if s.m.opts.UserInfoTTL > 0 {
		s.m.cacheUserInfo(ctx, s, d, raw)
	}
	return info, nil
}

// fetchUserInfo GETs the userinfo endpoint with the access token, reading
// at most maxUserInfoSize.
func (m *Middleware) fetchUserInfo(ctx context.Context, d *sessionData) (json.RawMessage, error) {
	p, err := m.providers.get(ctx, d.MCCMNC)
	if err != nil {
		return nil, err
	}
	if p.userinfoURL == "" {
		return nil, errors.New("zenkey: the provider publishes no userinfo endpoint")
	}
	target := p.userinfoURL
	if d.CorrelationID != "" && m.opts.Issuer == "" {
		target = addQuery(target, "correlation_id", d.CorrelationID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("zenkey: userinfo: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+string(d.AccessToken))
	req.Header.Set("Accept", "application/json")
	resp, err := m.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("zenkey: userinfo: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("zenkey: userinfo: HTTP %d", resp.StatusCode)
	}
	body, err := readLimited(resp.Body, maxUserInfoSize)
	if err != nil {
		return nil, fmt.Errorf("zenkey: userinfo: %w", err)
	}
	return body, nil
}

func addQuery(target, name, value string) string {
	return addQueryValues(target, url.Values{name: {value}})
}

// addQueryValues adds values to target's query, keeping what it had.
func addQueryValues(target string, values url.Values) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	q := u.Query()
	for k, v := range values {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// cacheUserInfo keeps a userinfo answer in the session. Losing the race to
// another write only means asking the provider again later.
func (m *Middleware) cacheUserInfo(ctx context.Context, s *Session, d *sessionData,
	raw json.RawMessage) {
	next := *d
	next.UserInfo = &userInfoCache{Fetched: m.now(), Raw: raw}
	rec := *s.record()
	if err := m.sealSession(&rec, &next); err != nil {
		return
	}
	if err := m.store.Update(ctx, &rec); err == nil {
		s.replace(&rec, &next)
	} else if !errors.Is(err, ErrConflict) {
		m.emit(ctx, slog.LevelWarn, "zenkey: userinfo not cached",
			Event{Kind: EventStoreError, Reason: reasonStore, Err: err})
	}
}

// decodeUserInfo reads a userinfo answer, nested or flat, and checks that
// it names subject.
func decodeUserInfo(raw json.RawMessage, subject string) (*UserInfo, error) {
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, fmt.Errorf("zenkey: userinfo is not a JSON object: %w", err)
	}
	info := &UserInfo{Claims: claims}
	info.Subject, _ = claimString(claims["sub"])
	if info.Subject == "" || info.Subject != subject {
		return nil, ErrUserInfoMismatch
	}
	name := claimObject(claims["name"])
	info.Name = name["value"]
	info.GivenName = firstOf(name["given_name"], claims["given_name"])
	info.FamilyName = firstOf(name["family_name"], claims["family_name"])
	info.Email = claimObject(claims["email"])["value"]
	info.Phone = firstOf(claimObject(claims["phone"])["value"], claims["phone_number"])
	info.PostalCode = cmp.Or(claimObject(claims["postal_code"])["value"],
		claimObject(claims["address"])["postal_code"])
	return info, nil
}

// claimObject reads a claim that is either ZenKey's object of strings or a
// plain string, which then stands as its "value".
func claimObject(raw json.RawMessage) map[string]string {
	if s, ok := claimString(raw); ok {
		return map[string]string{"value": s}
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return nil
	}
	out := make(map[string]string, len(fields))
	for k, v := range fields {
		if s, ok := claimString(v); ok {
			out[k] = s
		}
	}
	return out
}

func claimString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// firstOf returns the first non-empty of a string and a raw string claim.
func firstOf(s string, raw json.RawMessage) string {
	if s != "" {
		return s
	}
	v, _ := claimString(raw)
	return v
}
