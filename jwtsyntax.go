package zenkey

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// ErrMalformedToken means a token from the provider is not a compact JWS
// in canonical base64url: possible tampering. It is checked before any
// other parsing, because go-oidc's JOSE library strips whitespace and
// accepts the JSON serialization, which an id_token never uses.
var ErrMalformedToken = errors.New("zenkey: token is not a canonical compact JWS (possible " +
	"tampering)")

const (
	maxTokenSize  = 16 << 10 // a ZenKey id_token is about 1 KiB
	maxHeaderSize = 1 << 10
)

// jwtHeader is the part of a JOSE header the checks read.
type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// checkJWTSyntax is the gate every token passes first: at most
// maxTokenSize bytes, exactly three segments of the base64url alphabet with
// no padding, whitespace, line break or other character, each canonical
// (strict) base64, and a header that is a JSON object. It returns the
// header.
func checkJWTSyntax(raw string) (*jwtHeader, error) {
	if len(raw) == 0 || len(raw) > maxTokenSize {
		return nil, ErrMalformedToken
	}
	segments := strings.Split(raw, ".")
	if len(segments) != 3 {
		return nil, ErrMalformedToken
	}
	for _, s := range segments {
		if !isBase64URL(s) {
			return nil, ErrMalformedToken
		}
	}
	// The decoder skips \r and \n, so the alphabet check above must come
	// first; Strict refuses non-zero trailing bits (a second spelling of
	// the same bytes).
	strict := base64.RawURLEncoding.Strict()
	if len(segments[0]) > maxHeaderSize*4/3+4 {
		return nil, ErrMalformedToken
	}
	head, err := strict.DecodeString(segments[0])
	if err != nil {
		return nil, ErrMalformedToken
	}
	for _, s := range segments[1:] {
		if _, err := strict.DecodeString(s); err != nil {
			return nil, ErrMalformedToken
		}
	}
	var h jwtHeader
	if err := json.Unmarshal(head, &h); err != nil || head[0] != '{' {
		return nil, ErrMalformedToken
	}
	return &h, nil
}

// isBase64URL reports whether s is non-empty and only of the base64url
// alphabet, without padding.
func isBase64URL(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' ||
			c == '_') {
			return false
		}
	}
	return true
}
