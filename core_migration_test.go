package zenkey_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
)

// TestRefusedPortTokensAreReportedAsZenKeyErrors: a port token whose
// claims do not decode is refused with an error that names the package,
// as every error that reaches the app's logs does.
func TestRefusedPortTokensAreReportedAsZenKeyErrors(t *testing.T) {
	tests := []struct {
		name   string
		claims map[string]any
	}{
		{"sub not a string", map[string]any{"iss": "x", "sub": 311480, "aud": testClientID}},
		{"exp not a number", map[string]any{"iss": "x", "sub": oldSubject, "exp": "tomorrow"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var refused []error
			h := newHarness(t, func(o *zenkey.Options) {
				o.OnEvent = func(e zenkey.Event) {
					if e.Reason == "port_token_invalid" {
						mu.Lock()
						refused = append(refused, e.Err)
						mu.Unlock()
					}
				}
			})
			h.previousRoute()
			h.idp.AddPreviousCarrier("311480", oldSubject)
			port := h.idp.PortToken("311480", tt.claims)
			h.idp.EditClaims(func(c map[string]any) { c["aka"] = []string{port} })

			require.Equal(t, http.StatusOK, h.login().status, "the login goes on without it")

			mu.Lock()
			defer mu.Unlock()
			require.Len(t, refused, 1)
			assert.True(t, strings.HasPrefix(refused[0].Error(), "zenkey: "), refused[0].Error())
		})
	}
}
