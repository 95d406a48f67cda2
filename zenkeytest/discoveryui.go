package zenkeytest

import (
	"net/http"
	"net/url"
	"strings"
)

// carrier is a choice in the interactive carrier picker.
type carrier struct {
	Name   string
	MCCMNC string
}

// carrierName is the name the pages give the configured carrier.
const carrierName = "ZenKey Test Carrier"

// unknownCarriers are fictitious carriers the picker offers besides the
// configured one. Discovery answers provider_not_found for them, so a relying
// party meets a carrier that does not offer ZenKey.
var unknownCarriers = []carrier{
	{"Northwind Mobile", "310998"},
	{"Contoso Wireless", "311997"},
	{"Fabrikam Cellular", "312996"},
}

// carriers returns the picker's choices: the configured carrier first.
func (s *Server) carriers() []carrier {
	list := []carrier{{carrierName, s.cfg.MCCMNC}}
	for _, c := range unknownCarriers {
		if c.MCCMNC != s.cfg.MCCMNC {
			list = append(list, c)
		}
	}
	return list
}

// LastDiscoveryUI returns the query of the latest request to the discovery UI,
// or nil before the first: tests check prompt=true there.
func (s *Server) LastDiscoveryUI() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneValues(s.lastDiscoveryUI)
}

// handleDiscoveryUI is the carrier discovery UI. It sends the browser back to
// the relying party with the configured carrier's mccmnc, or, when
// Interactive, shows the carrier picker.
func (s *Server) handleDiscoveryUI(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.lastDiscoveryUI = q // a fresh map, never changed
	s.mu.Unlock()

	back, problem := s.checkClient(q)
	if problem != "" {
		renderMessage(w, http.StatusBadRequest, "Invalid request", problem)
		return
	}
	if q.Get("state") == "" {
		redirectError(w, r, back, "", "invalid_request", "state is required")
		return
	}
	if s.cfg.Interactive {
		s.renderPicker(w, http.StatusOK, q, "")
		return
	}
	s.returnCarrier(w, r, back, q.Get("state"), s.cfg.MCCMNC)
}

// handleCarrierChoice receives the picker's form: a carrier, or a phone number
// that the configured carrier serves.
func (s *Server) handleCarrierChoice(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		renderMessage(w, http.StatusBadRequest, "Invalid request", "The form could not be read.")
		return
	}
	f := r.PostForm
	back, problem := s.checkClient(f)
	if problem == "" && f.Get("state") == "" {
		problem = "state is required"
	}
	if problem != "" {
		renderMessage(w, http.StatusBadRequest, "Invalid request", problem)
		return
	}

	switch mccmnc := f.Get("mccmnc"); {
	case mccmncPattern.MatchString(mccmnc):
		s.returnCarrier(w, r, back, f.Get("state"), mccmnc)
	case validPhone(f.Get("phone")):
		s.returnCarrier(w, r, back, f.Get("state"), s.cfg.MCCMNC)
	default:
		s.renderPicker(w, http.StatusUnprocessableEntity, f,
			"Enter a phone number with its area code, or pick your carrier.")
	}
}

// returnCarrier ends discovery: the redirect to the relying party with the
// carrier's mccmnc, the state and the login hint token when there is one.
func (s *Server) returnCarrier(w http.ResponseWriter, r *http.Request, back *url.URL,
	state, mccmnc string) {
	params := url.Values{"mccmnc": {mccmnc}, "state": {state}}
	s.mu.Lock()
	if s.loginHintToken != "" {
		params.Set("login_hint_token", s.loginHintToken)
	}
	s.mu.Unlock()
	redirectTo(w, r, back, params)
}

// checkClient returns the request's redirect_uri when its client_id is the
// configured client's and its redirect_uri is absolute. Otherwise it returns
// what is wrong, for an error page: redirecting an unknown client's users
// would make the provider an open redirector.
func (s *Server) checkClient(q url.Values) (*url.URL, string) {
	if q.Get("client_id") != s.cfg.ClientID {
		return nil, "The client_id is missing or unknown."
	}
	back, ok := absoluteURL(q.Get("redirect_uri"))
	if !ok {
		return nil, "The redirect_uri must be an absolute URL without a fragment."
	}
	return back, ""
}

// validPhone reports whether s reads as a phone number: 10 to 15 digits, with
// the usual separators.
func validPhone(s string) bool {
	digits := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case !strings.ContainsRune(" +-().", c):
			return false
		}
	}
	return digits >= 10 && digits <= 15
}

// cloneValues returns a deep copy of v, or nil for nil.
func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
