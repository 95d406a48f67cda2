package main

import (
	"time"

	"github.com/zenkey-go/zenkey"
)

// A profile is what the app shows of the signed-in user: the id_token's
// claims, as validated at sign-in, and the session's times. It holds no
// token.
type profile struct {
	Subject  string       `json:"sub"`
	Issuer   string       `json:"iss"`
	ACR      string       `json:"acr,omitempty"`
	AMR      []string     `json:"amr,omitempty"`
	AuthTime int64        `json:"auth_time,omitempty"`
	Session  sessionTimes `json:"session"`
}

// sessionTimes are the app's own session times, which ZenKey does not set:
// the session lives by the app's idle and absolute timeouts.
type sessionTimes struct {
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// readProfile reads the profile of the session's user.
func readProfile(s *zenkey.Session) (profile, error) {
	var p profile
	if err := s.Claims(&p); err != nil {
		return profile{}, err
	}
	p.Session = sessionTimes{Created: s.Created(), Expires: s.Expires()}
	return p, nil
}

// SignedIn is when the user authenticated at the provider (auth_time).
func (p profile) SignedIn() time.Time { return time.Unix(p.AuthTime, 0) }

// Assurance explains the acr claim in ZenKey's terms.
func (p profile) Assurance() string {
	switch p.ACR {
	case "a3":
		return "PIN or biometric"
	case "a1":
		return "low assurance"
	}
	return ""
}

// A userInfo is the provider's userinfo about the user, as the app shows it.
type userInfo struct {
	Subject    string `json:"sub"`
	Name       string `json:"name,omitempty"`
	GivenName  string `json:"given_name,omitempty"`
	FamilyName string `json:"family_name,omitempty"`
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
}

// newUserInfo keeps the claims the app shows: ZenKey's nested claims and a
// standard provider's flat ones both arrive in these fields.
func newUserInfo(u *zenkey.UserInfo) userInfo {
	return userInfo{
		Subject:    u.Subject,
		Name:       u.Name,
		GivenName:  u.GivenName,
		FamilyName: u.FamilyName,
		Email:      u.Email,
		Phone:      u.Phone,
		PostalCode: u.PostalCode,
	}
}
