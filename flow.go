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
)

// A login flow is the server-side state of one login in progress. Its
// record lives in the store under a hash of its state, sealed like a
// session, for at most flowLifetime; each stage of it is used once.

// Stages of a flow.
const (
	stageDiscovery = 1 // waiting for the carrier discovery UI to return
	stageAuthorize = 2 // waiting for the provider's callback with a code
)

type flow struct {
	Stage          int    `json:"stage"`
	Nonce          token  `json:"nonce"`
	Verifier       token  `json:"verifier"`
	ReturnTo       string `json:"return_to"`
	CorrelationID  string `json:"correlation_id"`
	MCCMNC         string `json:"mccmnc,omitempty"`
	LoginHintToken token  `json:"login_hint_token,omitempty"`
	Prompt         string `json:"prompt,omitempty"`

	// An approval flow (a step-up for one action) also names the session
	// it belongs to, the action's text and when it started.
	Approval *approvalFlow `json:"approval,omitempty"`
}

var errFlowGone = errors.New("zenkey: login expired, was already used, or was started elsewhere")

// flowKey is the store key of the flow with the given state. The prefix
// keeps flow keys apart from session keys.
func flowKey(state string) string {
	sum := sha256.Sum256([]byte("zenkey/v1 login\x00" + state))
	return hex.EncodeToString(sum[:])
}

// randomString returns n random bytes in base64url without padding.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// correlationID returns an id matching ZenKey's ^[a-zA-Z0-9-]{8,16}$.
func correlationID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// createFlow stores f under a new state and returns the state.
func (m *Middleware) createFlow(ctx context.Context, f *flow) (string, error) {
	state := randomString(32)
	now := m.now()
	rec := &Record{
		Key:              flowKey(state),
		Created:          now,
		LastSeen:         now,
		IdleDeadline:     now.Add(flowLifetime),
		AbsoluteDeadline: now.Add(flowLifetime),
	}
	if err := m.sealFlow(rec, f); err != nil {
		return "", err
	}
	return state, m.store.Create(ctx, rec)
}

// takeFlow reads the flow with the given state and marks its stage used
// with a compare-and-swap, so a replayed callback finds it gone. It
// returns the record (for a later advance) and the flow. Stage 0 takes a
// flow at any stage.
func (m *Middleware) takeFlow(ctx context.Context, state string,
	stage int) (*Record, *flow, error) {
	rec, err := m.store.Get(ctx, flowKey(state))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errFlowGone
	}
	if err != nil {
		return nil, nil, err
	}
	if !rec.Live(m.now()) {
		return nil, nil, errFlowGone
	}
	f, err := m.openFlow(rec)
	if err != nil {
		return nil, nil, err
	}
	if f.Stage <= 0 || (stage != 0 && f.Stage != stage) {
		return nil, nil, errFlowGone
	}
	used := *f
	used.Stage = -stage
	if err := m.sealFlow(rec, &used); err != nil {
		return nil, nil, err
	}
	if err := m.store.Update(ctx, rec); errors.Is(err, ErrConflict) {
		return nil, nil, errFlowGone
	} else if err != nil {
		return nil, nil, err
	}
	return rec, f, nil
}

// advanceFlow stores f, taken earlier with takeFlow, at its next stage.
func (m *Middleware) advanceFlow(ctx context.Context, rec *Record, f *flow) error {
	if err := m.sealFlow(rec, f); err != nil {
		return err
	}
	if err := m.store.Update(ctx, rec); errors.Is(err, ErrConflict) {
		return errFlowGone
	} else if err != nil {
		return err
	}
	return nil
}

func (m *Middleware) sealFlow(rec *Record, f *flow) error {
	plain, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("zenkey: login state: %w", err)
	}
	rec.Blob = m.keys.seal(rec.Key, plain)
	return nil
}

func (m *Middleware) openFlow(rec *Record) (*flow, error) {
	plain, _, err := m.keys.open(rec.Key, rec.Blob)
	if err != nil {
		return nil, err
	}
	var f flow
	if err := json.Unmarshal(plain, &f); err != nil {
		return nil, fmt.Errorf("zenkey: login state: %w", err)
	}
	return &f, nil
}
