package zenkeytest

import (
	"encoding/json"
	"net/http"
	"net/url"
)

// maxFormBytes caps the request bodies the provider reads: its forms are small.
const maxFormBytes = 64 << 10

// parseForm reads a POSTed form of at most maxFormBytes into r.PostForm.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	return r.ParseForm()
}

// writeJSON sends v as JSON, uncached, as the token and discovery answers
// must be.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "zenkeytest: encoding the response: "+err.Error(),
			http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

// oauthError is an error response of RFC 6749, section 5.2.
type oauthError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// write sends e as the JSON body RFC 6749 prescribes.
func (e *oauthError) write(w http.ResponseWriter) {
	writeJSON(w, e.status, e)
}

// writeError sends an OAuth error response.
func writeError(w http.ResponseWriter, status int, code, description string) {
	(&oauthError{status: status, Code: code, Description: description}).write(w)
}

// invalidRequest is the error for a malformed request.
func invalidRequest(description string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", description}
}

// invalidGrant is the error for a code or refresh token that cannot be used.
func invalidGrant(description string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", description}
}

// absoluteURL parses a redirect URI the relying party sent: it must be
// absolute and have no fragment (RFC 6749, section 3.1.2).
func absoluteURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Fragment != "" {
		return nil, false
	}
	return u, true
}

// redirectTo sends the browser to target with params added to its query.
func redirectTo(w http.ResponseWriter, r *http.Request, target *url.URL, params url.Values) {
	u := *target
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// redirectError sends the browser back to the relying party with an OAuth
// error, and the description and state when there are some.
func redirectError(w http.ResponseWriter, r *http.Request, target *url.URL,
	state, code, description string) {
	params := url.Values{"error": {code}}
	if description != "" {
		params.Set("error_description", description)
	}
	if state != "" {
		params.Set("state", state)
	}
	redirectTo(w, r, target, params)
}
