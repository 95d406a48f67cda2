package zenkey_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// claimEdit changes the claims of the provider's next id_tokens.
type claimEdit func(h *harness, c map[string]any)

func omitAuthTime(_ *harness, c map[string]any) { delete(c, "auth_time") }

func authTimeNow(h *harness, c map[string]any) { c["auth_time"] = h.clock.Now().Unix() }

// TestRefreshKeepsTheLoginsAuthTime: a refreshed id_token may omit
// auth_time, as providers often do, but one that carries it must carry the
// login's, and none after a login without one. The comparison is with the
// login's, never with the previous refresh's token, so an omission does not
// open the way for a change.
func TestRefreshKeepsTheLoginsAuthTime(t *testing.T) {
	tests := []struct {
		name    string
		login   claimEdit   // of the login's id_token; nil: none
		refresh []claimEdit // of each refresh's id_token; nil: none
		want    []int       // each refresh's answer
	}{
		{"kept", nil, []claimEdit{nil, nil}, []int{http.StatusOK, http.StatusOK}},
		{"changed", nil, []claimEdit{authTimeNow}, []int{http.StatusUnauthorized}},
		{"omitted, then the login's", nil, []claimEdit{omitAuthTime, nil},
			[]int{http.StatusOK, http.StatusOK}},
		{"omitted, then changed", nil, []claimEdit{omitAuthTime, authTimeNow},
			[]int{http.StatusOK, http.StatusUnauthorized}},
		{"none at login, none on refresh", omitAuthTime, []claimEdit{omitAuthTime, omitAuthTime},
			[]int{http.StatusOK, http.StatusOK}},
		{"none at login, then one", omitAuthTime, []claimEdit{omitAuthTime, authTimeNow},
			[]int{http.StatusOK, http.StatusUnauthorized}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, longSessions)
			h.tokenRoute()
			h.editClaims(tt.login)
			require.Equal(t, http.StatusOK, h.login().status)
			h.idp.Heal()

			for i, edit := range tt.refresh {
				h.clock.Advance(30 * time.Minute)
				h.editClaims(edit)
				p := h.do(h.browser, http.MethodGet, "/token", false)
				h.idp.Heal()
				require.Equal(t, tt.want[i], p.status, "refresh %d: %s", i, p.body)
			}
			ok := tt.want[len(tt.want)-1] == http.StatusOK
			assert.Equal(t, ok, h.signedIn(h.browser), "a refused refresh ends the session")
		})
	}
}

// editClaims makes the provider apply edit to its next id_tokens, until
// Heal; a nil edit changes nothing.
func (h *harness) editClaims(edit claimEdit) {
	if edit != nil {
		h.idp.EditClaims(func(c map[string]any) { edit(h, c) })
	}
}
