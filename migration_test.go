package zenkey_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
)

const oldSubject = "311480-0123456789abcdef"

// previousRoute shows the session's previous subjects.
func (h *harness) previousRoute() {
	h.mux.Handle("/previous", h.zk.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		io.WriteString(w, strings.Join(zenkey.SessionFromContext(r.Context()).PreviousSubjects(),
			","))
	})))
}

func TestCarrierMigrationProvesPreviousSubjects(t *testing.T) {
	h := newHarness(t, nil)
	h.previousRoute()
	h.idp.AddPreviousCarrier("311480", oldSubject)
	require.Equal(t, http.StatusOK, h.login().status)

	assert.Equal(t, oldSubject, h.do(h.browser, http.MethodGet, "/previous", false).body)
}

// TestClaimsLeaveOutPortTokens: an app that shows or logs every claim
// never shows a port token, a JWT.
func TestClaimsLeaveOutPortTokens(t *testing.T) {
	h := newHarness(t, nil)
	h.mux.Handle("/claims", h.zk.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		var claims map[string]any
		if err := zenkey.SessionFromContext(r.Context()).Claims(&claims); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, aka := claims["aka"]
		fmt.Fprintf(w, "sub=%v aka=%v", claims["sub"], aka)
	})))
	h.idp.AddPreviousCarrier("311480", oldSubject)
	require.Equal(t, http.StatusOK, h.login().status)

	assert.Equal(t, "sub="+testSubject+" aka=false", h.do(h.browser, http.MethodGet, "/claims",
		false).body)
}

func TestCarrierMigrationRefusesBadPortTokens(t *testing.T) {
	valid := func(h *harness, issuer string) map[string]any {
		now := h.clock.Now()
		return map[string]any{"iss": issuer, "sub": oldSubject, "aud": testClientID,
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "ported_to": testSubject}
	}
	tests := []struct {
		name string
		port func(h *harness, issuer string) string
	}{
		{"signed by the new carrier", func(h *harness, issuer string) string {
			return h.idp.IDToken(valid(h, issuer))
		}},
		{"another issuer", func(h *harness, issuer string) string {
			c := valid(h, issuer)
			c["iss"] = "https://evil.example"
			return h.idp.PortToken("311480", c)
		}},
		{"another client", func(h *harness, issuer string) string {
			c := valid(h, issuer)
			c["aud"] = "other-client"
			return h.idp.PortToken("311480", c)
		}},
		{"ported to someone else", func(h *harness, issuer string) string {
			c := valid(h, issuer)
			c["ported_to"] = "310999-mallory"
			return h.idp.PortToken("311480", c)
		}},
		{"expired", func(h *harness, issuer string) string {
			c := valid(h, issuer)
			c["exp"] = h.clock.Now().Add(-time.Hour).Unix()
			return h.idp.PortToken("311480", c)
		}},
		{"no ported_to", func(h *harness, issuer string) string {
			c := valid(h, issuer)
			delete(c, "ported_to")
			return h.idp.PortToken("311480", c)
		}},
		{"an old login's id_token", func(h *harness, issuer string) string {
			c := valid(h, issuer)
			c["nonce"] = "n-0123456789"
			return h.idp.PortToken("311480", c)
		}},
		{"no exp", func(h *harness, issuer string) string {
			c := valid(h, issuer)
			delete(c, "exp")
			return h.idp.PortToken("311480", c)
		}},
		{"not canonical", func(h *harness, issuer string) string {
			return h.idp.PortToken("311480", valid(h, issuer)) + "\n"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.previousRoute()
			issuer := h.idp.AddPreviousCarrier("311480", oldSubject)
			port := tt.port(h, issuer)
			h.idp.EditClaims(func(c map[string]any) { c["aka"] = []string{port} })

			require.Equal(t, http.StatusOK, h.login().status,
				"a bad port token does not stop the login")
			assert.Empty(t, h.do(h.browser, http.MethodGet, "/previous", false).body)
		})
	}
	t.Run("too many, valid ones among them", func(t *testing.T) {
		h := newHarness(t, nil)
		h.previousRoute()
		issuer := h.idp.AddPreviousCarrier("311480", oldSubject)
		aka := make([]string, 9)
		for i := range aka {
			aka[i] = h.idp.PortToken("311480", valid(h, issuer))
		}
		h.idp.EditClaims(func(c map[string]any) { c["aka"] = aka })
		require.Equal(t, http.StatusOK, h.login().status)
		assert.Empty(t, h.do(h.browser, http.MethodGet, "/previous", false).body,
			"a list longer than 8 is refused whole, not cut")
	})
	t.Run("the valid one passes", func(t *testing.T) {
		h := newHarness(t, nil)
		h.previousRoute()
		issuer := h.idp.AddPreviousCarrier("311480", oldSubject)
		port := h.idp.PortToken("311480", valid(h, issuer))
		h.idp.EditClaims(func(c map[string]any) { c["aka"] = []string{port} })
		h.login()
		assert.Equal(t, oldSubject, h.do(h.browser, http.MethodGet, "/previous", false).body)
	})
}
