package zenkey

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A well-formed token, signature bytes arbitrary: the gate checks syntax only.
var goodJWT = seg(`{"alg":"RS256","kid":"k1","typ":"JWT"}`) + "." +
	seg(`{"iss":"https://carrier.example","sub":"310999-x"}`) + "." +
	base64.RawURLEncoding.EncodeToString(make([]byte, 256))

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestJWTSyntaxGate(t *testing.T) {
	h, err := checkJWTSyntax(goodJWT)
	require.NoError(t, err)
	assert.Equal(t, &jwtHeader{Alg: "RS256", Kid: "k1", Typ: "JWT"}, h)

	parts := strings.Split(goodJWT, ".")
	bad := map[string]string{
		"empty":           "",
		"two segments":    parts[0] + "." + parts[1],
		"four segments":   goodJWT + "." + parts[2],
		"empty signature": parts[0] + "." + parts[1] + ".",
		"empty payload":   parts[0] + ".." + parts[2],
		"line feed": parts[0] + "." + parts[1][:5] + "\n" + parts[1][5:] + "." +
			parts[2],
		"carriage return":   parts[0] + "\r." + parts[1] + "." + parts[2],
		"space":             " " + goodJWT,
		"tab":               goodJWT + "\t",
		"padding":           parts[0] + "." + parts[1] + "." + parts[2] + "==",
		"standard alphabet": strings.ReplaceAll(goodJWT, "-", "+") + "+/",
		"JSON serialization": `{"protected":"` + parts[0] + `","payload":"` + parts[1] +
			`","signature":"` + parts[2] + `"}`,
		"non-canonical tail":   parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + "B",
		"impossible length":    parts[0] + "." + parts[1] + "." + parts[2] + "AAA",
		"header not JSON":      seg("RS256") + "." + parts[1] + "." + parts[2],
		"header a JSON string": seg(`"x"`) + "." + parts[1] + "." + parts[2],
		"header null":          seg(`null`) + "." + parts[1] + "." + parts[2],
		"oversized":            parts[0] + "." + strings.Repeat("A", maxTokenSize) + "." + parts[2],
		"huge header": seg(`{"alg":"RS256","x":"`+strings.Repeat("a",
			2000)+`"}`) + "." + parts[1] + "." + parts[2],
		"NUL byte":  goodJWT + "\x00",
		"non-ASCII": goodJWT + "é",
	}
	for name, raw := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := checkJWTSyntax(raw)
			assert.ErrorIs(t, err, ErrMalformedToken)
		})
	}
}

func FuzzJWTSyntaxGate(f *testing.F) {
	f.Add(goodJWT)
	f.Add(goodJWT + "\n")
	f.Add("a.b.c")
	f.Add(`{"payload":"x"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		h, err := checkJWTSyntax(raw)
		if err != nil {
			return
		}
		// Whatever passes is three canonical base64url segments whose
		// header is a JSON object.
		require.NotNil(t, h)
		parts := strings.Split(raw, ".")
		require.Len(t, parts, 3)
		for _, p := range parts {
			b, err := base64.RawURLEncoding.Strict().DecodeString(p)
			require.NoError(t, err)
			require.Equal(t, p, base64.RawURLEncoding.EncodeToString(b), "canonical")
		}
	})
}
