package zenkey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// A token is an OAuth token or a JWT. It prints and logs as "[redacted]".
type token string

// Format writes "[redacted]" for every verb.
func (token) Format(f fmt.State, _ rune) { fmt.Fprint(f, "[redacted]") }

// LogValue makes slog print "[redacted]".
func (token) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// sessionData is what a session record's blob holds once opened. Its
// tokens are encoded apart from the other fields: see sessionblob.go.
type sessionData struct {
	Issuer        string          `json:"iss"`
	Subject       string          `json:"sub"`
	MCCMNC        string          `json:"mccmnc,omitempty"`
	SID           string          `json:"sid,omitempty"`
	IDToken       token           `json:"-"` // its payload is the session's claims
	AccessToken   token           `json:"-"`
	RefreshToken  token           `json:"-"`
	TokenType     string          `json:"token_type,omitempty"`
	Expiry        time.Time       `json:"expiry"`
	Nonce         token           `json:"-"`
	AuthTime      int64           `json:"auth_time,omitempty"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	UserInfo      *userInfoCache  `json:"userinfo,omitempty"`
	StrongAuth    time.Time       `json:"strong_auth,omitzero"` // last a3 login or approval
	Approval      *approvalRecord `json:"approval,omitempty"`   // unused approval of one action

	PreviousSubjects []string `json:"previous_subjects,omitempty"` // proven by port tokens
}

// A Session is the signed-in state of one browser. Handlers get it with
// [SessionFromContext]. Its methods are safe for concurrent use; it is valid
// for the request that loaded it.
type Session struct {
	m *Middleware

	mu   sync.Mutex
	rec  *Record
	data *sessionData // nil until opened
}

// open decrypts the session's record the first time it is needed: a request
// that only checks that a session exists pays for no decryption.
func (s *Session) open() (*sessionData, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data != nil {
		return s.data, nil
	}
	d, err := s.m.openSession(s.rec)
	if err != nil {
		return nil, err
	}
	s.data = d
	return d, nil
}

// replace makes the session show a newer version of its record.
func (s *Session) replace(rec *Record, d *sessionData) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rec, s.data = rec, d
}

func (s *Session) record() *Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec
}

// openSession decrypts and decodes a session record's blob.
func (m *Middleware) openSession(rec *Record) (*sessionData, error) {
	plain, _, err := m.keys.open(rec.Key, rec.Blob)
	if err != nil {
		return nil, err
	}
	var d sessionData
	if err := d.unmarshal(plain); err != nil {
		return nil, err
	}
	return &d, nil
}

// sealSession encodes d into rec's blob, sealed under the current key.
func (m *Middleware) sealSession(rec *Record, d *sessionData) error {
	plain, err := d.marshal()
	if err != nil {
		return err
	}
	rec.Blob = m.keys.seal(rec.Key, plain)
	return nil
}

// Subject returns the user's subject (the id_token's sub): stable for this
// app and this user. With ZenKey it starts with the carrier's mccmnc. It
// returns "" if the session record cannot be decrypted.
func (s *Session) Subject() string {
	d, err := s.open()
	if err != nil {
		return ""
	}
	return d.Subject
}

// Issuer returns the issuer that signed the user in: the carrier's issuer
// with ZenKey.
func (s *Session) Issuer() string {
	d, err := s.open()
	if err != nil {
		return ""
	}
	return d.Issuer
}

// Claims decodes the id_token's claims, as validated at login or at the
// last refresh that brought an id_token, into v. The port tokens of a user
// who moved carrier (aka) are left out: they are JWTs, which must not reach
// a page or a log, and [Session.PreviousSubjects] says what they proved.
func (s *Session) Claims(v any) error {
	d, err := s.open()
	if err != nil {
		return err
	}
	claims, err := d.claims()
	if err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(claims, &all); err != nil {
		return fmt.Errorf("zenkey: session claims: %w", err)
	}
	if _, ok := all["aka"]; ok {
		delete(all, "aka")
		if claims, err = json.Marshal(all); err != nil {
			return fmt.Errorf("zenkey: session claims: %w", err)
		}
	}
	return json.Unmarshal(claims, v)
}

// claims returns the payload of the session's id_token: the claims that
// were validated at login or at the last refresh that brought an id_token.
// They are kept only inside the token, not beside it, so that a session
// record holds them once.
func (d *sessionData) claims() (json.RawMessage, error) {
	if d.IDToken == "" {
		return json.RawMessage(`{}`), nil
	}
	_, payload, ok := strings.Cut(string(d.IDToken), ".")
	payload, _, _ = strings.Cut(payload, ".")
	claims, err := base64.RawURLEncoding.DecodeString(payload)
	if !ok || err != nil {
		return nil, errors.New("zenkey: session record: id_token payload does not decode")
	}
	return claims, nil
}

// Created returns when the user signed in.
func (s *Session) Created() time.Time { return s.record().Created }

// Expires returns when the session ends unless the user is seen again
// before its idle deadline.
func (s *Session) Expires() time.Time { return s.record().Expires() }

// sessionIDLen is the length of a session id: 256 random bits.
const sessionIDLen = 32

// newSessionID returns a fresh session id (256 random bits) and the store
// key derived from it.
func newSessionID() (id []byte, key string) {
	id = make([]byte, sessionIDLen)
	rand.Read(id)
	return id, storeKey(id)
}

// storeKey hashes a session id: a store and its backups never hold an id
// that could be replayed as a cookie.
func storeKey(id []byte) string {
	sum := sha256.Sum256(id)
	var key [2 * sha256.Size]byte
	hex.Encode(key[:], sum[:])
	return string(key[:])
}

type ctxKey struct{}

// loaded is what the middleware puts in a request's context: one
// allocation for the session and the outcome of loading it.
type loaded struct {
	s       Session
	session *Session // &s when signed in, else nil
	err     error    // the store failed: neither signed in nor signed out
}

// SessionFromContext returns the session the middleware loaded for the
// request, or nil when the browser is not signed in.
func SessionFromContext(ctx context.Context) *Session {
	if l, ok := ctx.Value(ctxKey{}).(*loaded); ok {
		return l.session
	}
	return nil
}
