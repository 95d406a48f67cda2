package zenkey

import (
	"net/http"
	"strings"
	"time"
)

// The session cookie holds one thing: the session id, signed so that a
// forged or altered cookie is refused before the store is asked. It is
// __Host- prefixed (Secure, Path=/, no Domain), HttpOnly and SameSite=Lax.

// sessionKey returns the store key of the session that r's session cookie
// names, or "" when there is none or it does not verify under any key of
// the ring at now.
func (m *Middleware) sessionKey(r *http.Request, now time.Time) string {
	value, ok := cookieValue(r, cookieName)
	if !ok || len(value) > maxCookieLen {
		return ""
	}
	if key := m.verified.get(value, now); key != "" {
		return key
	}
	for _, k := range m.keys {
		if id, expires, ok := k.session.verify(value, now); ok {
			key := storeKey(id[:])
			m.verified.put(value, key, minTime(now.Add(verifiedCookieTTL), expires))
			return key
		}
	}
	return ""
}

// cookieValue returns the value of the first cookie named name in r. It
// scans the Cookie headers in place: http.Request.Cookie would parse, and
// allocate, every cookie the browser sent, on every request.
func cookieValue(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var pair string
			pair, line, _ = strings.Cut(line, ";")
			n, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if ok && n == name {
				return v, true
			}
		}
	}
	return "", false
}

// setSessionCookie gives the browser its new session id.
func (m *Middleware) setSessionCookie(w http.ResponseWriter, id []byte) {
	v := m.keys.current().session.encode(id, m.now())
	http.SetCookie(w, hostCookie(cookieName, v, m.opts.AbsoluteTimeout))
}

// clearSessionCookie tells the browser to forget its session cookie.
func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, hostCookie(cookieName, "", -1))
}

// hostCookie builds a __Host- cookie; maxAge < 0 deletes it.
func hostCookie(name, value string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		MaxAge:   int(maxAge / time.Second),
	}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	return c
}

// The login cookie binds pending logins to the browser that started them:
// it lists the state of each (at most maxPendingFlows, newest last), and a
// callback whose state is not in it is refused. The secrets of a login (its
// nonce and PKCE verifier) stay in the store.

// readLoginStates returns the states of the browser's pending logins.
func (m *Middleware) readLoginStates(r *http.Request) []string {
	c, err := r.Cookie(loginCookieName)
	if err != nil {
		return nil
	}
	var raw []byte
	for _, k := range m.keys {
		if k.cookie.Decode(loginCookieName, c.Value, &raw) == nil {
			return strings.Split(string(raw), ".")
		}
	}
	return nil
}

// writeLoginStates stores the list of pending logins in the login cookie,
// or deletes the cookie when none is left.
func (m *Middleware) writeLoginStates(w http.ResponseWriter, states []string) error {
	if len(states) == 0 {
		http.SetCookie(w, hostCookie(loginCookieName, "", -1))
		return nil
	}
	v, err := m.keys.current().cookie.Encode(loginCookieName, []byte(strings.Join(states, ".")))
	if err != nil {
		return err
	}
	http.SetCookie(w, hostCookie(loginCookieName, v, flowLifetime))
	return nil
}
