package zenkey

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSessionBlobRoundTrip(t *testing.T) {
	d := &sessionData{
		Issuer: "https://carrier.test", Subject: "310999-0123", MCCMNC: "310999", SID: "sid-1",
		IDToken: "h.p.s", AccessToken: "access", RefreshToken: "", TokenType: "Bearer",
		Expiry: time.Unix(1_900_000_000, 0).UTC(), Nonce: "nonce", AuthTime: 1_800_000_000,
		CorrelationID: "abcd-1234", StrongAuth: time.Unix(1_800_000_000, 0).UTC(),
		Approval:         &approvalRecord{Hash: "ab", At: time.Unix(1_800_000_100, 0).UTC()},
		PreviousSubjects: []string{"311480-old"},
	}
	plain, err := d.marshal()
	require.NoError(t, err)
	for _, name := range []string{"id_token", "access_token", "refresh_token", "nonce"} {
		assert.NotContains(t, string(plain), `"`+name+`"`, "tokens are kept out of the JSON")
	}

	var got sessionData
	require.NoError(t, got.unmarshal(plain))
	assert.Equal(t, d, &got)
}

// TestSessionBlobCutShort refuses every prefix of a session's plaintext,
// and a JSON session of an unknown format, with an error, never a panic.
func TestSessionBlobCutShort(t *testing.T) {
	d := &sessionData{Subject: "310999-0123", IDToken: "h.p.s", AccessToken: "access", Nonce: "n"}
	plain, err := d.marshal()
	require.NoError(t, err)
	for n := range len(plain) {
		var got sessionData
		assert.Error(t, got.unmarshal(plain[:n]), "cut at %d", n)
	}
	var got sessionData
	assert.ErrorIs(t, got.unmarshal([]byte(`{"sub":"x","access_token":"a"}`)), errBlobFormat)
}
