package zenkeytest

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	// challengePattern matches an S256 code_challenge: a base64url SHA-256.
	challengePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

	// correlationPattern matches ZenKey's correlation_id.
	correlationPattern = regexp.MustCompile(`^[a-zA-Z0-9-]{8,16}$`)

	// pinPattern matches the approval page's PIN: any four digits do.
	pinPattern = regexp.MustCompile(`^[0-9]{4}$`)
)

// maxContext is the longest context text, in characters, ZenKey shows the user.
const maxContext = 280

// login is a user's approval of an authorization request: what the code and
// every token issued from it share. Each approval is a new login, with its own
// sid and auth_time, even for a user already logged in and without
// prompt=login: the provider keeps no session between authorizations.
type login struct {
	redirectURI   string
	challenge     string
	nonce         string
	acr           string
	offline       bool // offline_access was granted: tokens come with a refresh token
	correlationID string
	sub           string
	sid           string
	authTime      time.Time
	context       string // the text the user approved, echoed in the id_token
}

// LastAuthorize returns the query of the latest request to the authorize
// endpoint, valid or not, or nil before the first.
func (s *Server) LastAuthorize() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneValues(s.lastAuthorize)
}

// handleAuthorize is the carrier's authorization endpoint. A valid request is
// approved at once, or, when Interactive, shown on the approval page.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.lastAuthorize = q // a fresh map, never changed
	code, description := s.sw.authorizeError, s.sw.authorizeErrorDescription
	s.mu.Unlock()

	back, problem := s.checkClient(q)
	if problem != "" {
		renderMessage(w, http.StatusBadRequest, "Invalid request", problem)
		return
	}
	if problem := authorizeProblem(q); problem != "" {
		redirectError(w, r, back, q.Get("state"), "invalid_request", problem)
		return
	}
	if code != "" {
		redirectError(w, r, back, q.Get("state"), code, description)
		return
	}
	if s.cfg.Interactive {
		s.renderApproval(w, http.StatusOK, q, "")
		return
	}
	s.approve(w, r, back, q)
}

// authorizeProblem returns what is wrong with an authorization request whose
// client and redirect_uri are fine, or "" when nothing is.
func authorizeProblem(q url.Values) string {
	for name, values := range q {
		if len(values) > 1 {
			return name + " is repeated"
		}
	}
	acrs := strings.Fields(q.Get("acr_values"))
	switch {
	case q.Get("response_type") != "code":
		return "response_type must be code"
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		return "scope must contain openid"
	case q.Get("state") == "":
		return "state is required"
	case q.Get("nonce") == "":
		return "nonce is required"
	case q.Get("code_challenge") == "":
		return "code_challenge is required: ZenKey requires PKCE"
	case q.Get("code_challenge_method") != "S256":
		return "code_challenge_method must be S256"
	case !challengePattern.MatchString(q.Get("code_challenge")):
		return "code_challenge must be 43 base64url characters"
	case slices.Contains(acrs, "a2"):
		return "acr_values must not contain a2"
	case slices.ContainsFunc(acrs, func(v string) bool { return v != "a1" && v != "a3" }):
		return "acr_values may only contain a1 and a3"
	case utf8.RuneCountInString(q.Get("context")) > maxContext:
		return "context must be at most 280 characters"
	case q.Has("correlation_id") && !correlationPattern.MatchString(q.Get("correlation_id")):
		return "correlation_id must match ^[a-zA-Z0-9-]{8,16}$"
	}
	return ""
}

// handleDecision receives the approval page's form: Deny, or Approve with a
// PIN. The form carries the original request, which is checked again.
func (s *Server) handleDecision(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		renderMessage(w, http.StatusBadRequest, "Invalid request", "The form could not be read.")
		return
	}
	q, err := url.ParseQuery(r.PostForm.Get("request"))
	back, problem := s.checkClient(q)
	if err != nil || problem != "" || authorizeProblem(q) != "" {
		renderMessage(w, http.StatusBadRequest, "Invalid request",
			"The authorization request in this form is not valid.")
		return
	}

	switch {
	case r.PostForm.Get("decision") == "deny":
		redirectError(w, r, back, q.Get("state"), "access_denied", "the user denied the request")
	case !pinPattern.MatchString(r.PostForm.Get("pin")):
		s.renderApproval(w, http.StatusUnprocessableEntity, q, "Enter a PIN of four digits.")
	default:
		s.approve(w, r, back, q)
	}
}

// approve ends a valid authorization request with a code: the redirect the
// relying party's callback expects.
func (s *Server) approve(w http.ResponseWriter, r *http.Request, back *url.URL, q url.Values) {
	l := s.newLogin(q)
	code := rand.Text()
	s.mu.Lock()
	s.codes[code] = l
	s.mu.Unlock()

	redirectTo(w, r, back, url.Values{
		"code":           {code},
		"state":          {q.Get("state")},
		"mccmnc":         {s.cfg.MCCMNC},
		"correlation_id": {l.correlationID},
	})
}

// newLogin records the user's approval of the request q.
func (s *Server) newLogin(q url.Values) *login {
	acr := "a3" // ZenKey's default: PIN or biometric
	if acrs := strings.Fields(q.Get("acr_values")); len(acrs) > 0 {
		acr = acrs[0]
	}
	correlationID := q.Get("correlation_id")
	if correlationID == "" {
		correlationID = rand.Text()[:16]
	}
	s.mu.Lock()
	sub := s.subject
	s.mu.Unlock()

	return &login{
		redirectURI:   q.Get("redirect_uri"),
		challenge:     q.Get("code_challenge"),
		nonce:         q.Get("nonce"),
		acr:           acr,
		offline:       slices.Contains(strings.Fields(q.Get("scope")), "offline_access"),
		correlationID: correlationID,
		sub:           sub,
		sid:           rand.Text(),
		authTime:      s.now(),
		context:       q.Get("context"),
	}
}
