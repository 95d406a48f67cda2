package zenkeytest

import (
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// idTokenLifetime is how long an id_token is valid after it is issued.
const idTokenLifetime = time.Hour

// idToken makes the id_token of a login at its token response. On refresh the
// login supplies the same auth_time, nonce, sid, sub, acr and context as at
// the first exchange, as certified providers do. The port tokens of the
// previous carriers go in aka; edits run last, so they can change anything.
func (s *Server) idToken(l *login, accessToken string, now time.Time) (string, error) {
	claims := map[string]any{
		"iss":       s.Issuer,
		"aud":       s.cfg.ClientID,
		"azp":       s.cfg.ClientID,
		"sub":       l.sub,
		"exp":       now.Add(idTokenLifetime).Unix(),
		"iat":       now.Unix(),
		"auth_time": l.authTime.Unix(),
		"nonce":     l.nonce,
		"at_hash":   atHash(accessToken),
		"acr":       l.acr,
		"amr":       []string{"pin"},
		"sid":       l.sid,
	}

	s.mu.Lock()
	editClaims, editIDToken := s.sw.editClaims, s.sw.editIDToken
	echoContext := !s.sw.noContextEcho
	s.mu.Unlock()

	if l.context != "" && echoContext {
		claims["context"] = l.context // ZenKey echoes the text the user approved
	}
	aka, err := s.portTokens(l.sub, now)
	if err != nil {
		return "", err
	}
	if aka != nil {
		claims["aka"] = aka
	}
	if editClaims != nil {
		editClaims(claims)
	}
	jwt, err := s.sign(claims, "JWT")
	if err != nil {
		return "", err
	}
	if editIDToken != nil {
		jwt = editIDToken(jwt)
	}
	return jwt, nil
}

// atHash is the at_hash of an access token for RS256: the left half of its
// SHA-256, in unpadded base64url.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// IDToken signs claims as they are, with the current key and typ "JWT", for
// fuzz seeds and tests of the relying party's checks. [Server.EditClaims] and
// [Server.EditIDToken] do not apply; [Server.SignWithUnpublishedKey] does. It
// panics when claims cannot be encoded as JSON.
func (s *Server) IDToken(claims map[string]any) string {
	return s.mustSign(claims, "JWT")
}
