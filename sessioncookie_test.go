package zenkey

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"testing"
	"time"
)

// TestSessionVerifierAgreesWithSecurecookie signs values by hand, as only
// someone holding the key could, with every date and id shape the format
// allows, and checks that the verifier accepts exactly what securecookie
// accepts, and reads the same id. The fuzz target FuzzSessionCookie covers
// the values anyone can forge.
func TestSessionVerifierAgreesWithSecurecookie(t *testing.T) {
	secret := bytes.Repeat([]byte("s"), 32)
	keys, err := deriveKeys(secret, 3600)
	if err != nil {
		t.Fatal(err)
	}
	cookieKey, err := hkdf.Key(sha256.New, secret, nil, labelCookie, 64)
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now().Unix()
	id := base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	sign := func(date, value string) string {
		m := hmac.New(sha256.New, cookieKey)
		m.Write([]byte(cookieName + "|" + date + "|" + value))
		return base64.URLEncoding.EncodeToString(append([]byte(date+"|"+value+"|"), m.Sum(nil)...))
	}
	cases := map[string]string{
		"fresh":           sign(strconv.FormatInt(now, 10), id),
		"an hour old":     sign(strconv.FormatInt(now-3590, 10), id),
		"expired":         sign(strconv.FormatInt(now-3700, 10), id),
		"from the future": sign(strconv.FormatInt(now+86400, 10), id),
		"plus sign":       sign("+"+strconv.FormatInt(now, 10), id),
		"minus sign":      sign("-"+strconv.FormatInt(now, 10), id),
		"empty date":      sign("", id),
		"huge date":       sign("99999999999999999999", id),
		"31-byte id":      sign(strconv.FormatInt(now, 10), id[:40]+"="),
		"33-byte id": sign(strconv.FormatInt(now, 10),
			base64.URLEncoding.EncodeToString(make([]byte, 33))),
		"unpadded id": sign(strconv.FormatInt(now, 10),
			base64.RawURLEncoding.EncodeToString(make([]byte, 32))),
		"not base64":   sign(strconv.FormatInt(now, 10), "!"+id[1:]),
		"pipe in id":   sign(strconv.FormatInt(now, 10), id[:20]+"|"+id[21:]),
		"wrong name":   keysEncode(t, keys, "__Host-other"),
		"too long":     sign(strconv.FormatInt(now, 10), id+string(bytes.Repeat([]byte("A"), 400))),
		"by encoder":   keysEncode(t, keys, cookieName),
		"standard b64": base64.StdEncoding.EncodeToString([]byte("x|y|z")),
	}
	accepted := 0
	for name, value := range cases {
		var theirs []byte
		want := keys.cookie.Decode(cookieName, value, &theirs) == nil && len(theirs) == 32
		got, ok := keys.session.verify(value)
		if ok != want {
			t.Errorf("%s: verifier says %v, securecookie %v", name, ok, want)
		}
		if ok && want && !bytes.Equal(got[:], theirs) {
			t.Errorf("%s: verifier read id %x, securecookie %x", name, got, theirs)
		}
		if ok {
			accepted++
		}
	}
	if accepted < 4 { // fresh, an hour old, from the future, by encoder
		t.Errorf("the verifier accepted %d of the valid values, want 4", accepted)
	}
}

// TestSessionVerifierAllocatesNothing: the check runs on every browser's
// first request in a minute.
func TestSessionVerifierAllocatesNothing(t *testing.T) {
	keys, err := deriveKeys(bytes.Repeat([]byte("s"), 32), 3600)
	if err != nil {
		t.Fatal(err)
	}
	value := keysEncode(t, keys, cookieName)
	if allocs := testing.AllocsPerRun(100, func() {
		if _, ok := keys.session.verify(value); !ok {
			t.Fatal("a value the encoder wrote did not verify")
		}
	}); allocs != 0 {
		t.Errorf("verify allocated %.0f times, want 0", allocs)
	}
}

func keysEncode(t *testing.T, k *derivedKeys, name string) string {
	t.Helper()
	v, err := k.cookie.Encode(name, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
