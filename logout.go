package zenkey

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// serveLogout logs the browser out: POST LogoutPath. Cross-origin requests
// are refused before it runs (http.CrossOriginProtection). The session is
// destroyed in the store first; only when the store confirmed it is the
// cookie cleared and the browser told it is signed out. If the store
// cannot confirm, the answer is 503 and the cookie is kept, so that a retry
// can finish the job.
func (m *Middleware) serveLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "zenkey: logout takes POST", http.StatusMethodNotAllowed)
		return
	}
	if err := m.Logout(r.Context(), r); err != nil {
		m.fail(w, r, http.StatusServiceUnavailable, reasonStore, err)
		return
	}
	clearSessionCookie(w)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Clear-Site-Data", `"cache"`)
	http.Redirect(w, r, m.opts.AfterLogoutURL, http.StatusSeeOther)
}

// Logout destroys the session of the browser that sent r, if it has one,
// and returns nil only once the store confirmed the deletion. It does not
// touch the response: the caller clears the cookie (or uses the logout
// path, which does both).
func (m *Middleware) Logout(ctx context.Context, r *http.Request) error {
	id := m.readCookie(r)
	if id == nil {
		return nil
	}
	if err := m.store.Delete(ctx, storeKey(id)); err != nil {
		return errors.Join(errors.New("zenkey: logout not confirmed by the store"), err)
	}
	m.log.LogAttrs(ctx, slog.LevelInfo, "zenkey: signed out")
	return nil
}
