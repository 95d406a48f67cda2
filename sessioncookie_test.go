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

// TestSessionCodecAgreesWithSecurecookie signs values by hand, as only
// someone holding the key could, with every date and id shape the format
// allows but line breaks inside the id (which securecookie skips and the
// codec refuses), and checks that the codec accepts exactly what
// securecookie accepts, and reads the same id. The fuzz target
// FuzzSessionCookie covers the values anyone can forge.
func TestSessionCodecAgreesWithSecurecookie(t *testing.T) {
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
		"not base64": sign(strconv.FormatInt(now, 10), "!"+id[1:]),
		"pipe in id": sign(strconv.FormatInt(now, 10), id[:20]+"|"+id[21:]),
		"wrong name": keysEncode(t, keys, "__Host-other"),
		"too long": sign(strconv.FormatInt(now, 10),
			id+string(bytes.Repeat([]byte("A"), 400))),
		"by securecookie": keysEncode(t, keys, cookieName),
		"by the codec":    keys.session.encode(bytes.Repeat([]byte{7}, 32), time.Now()),
		"standard b64":    base64.StdEncoding.EncodeToString([]byte("x|y|z")),
	}
	accepted := 0
	for name, value := range cases {
		var theirs []byte
		want := keys.cookie.Decode(cookieName, value, &theirs) == nil && len(theirs) == 32
		got, _, ok := keys.session.verify(value, time.Now())
		if ok != want {
			t.Errorf("%s: the codec says %v, securecookie %v", name, ok, want)
		}
		if ok && want && !bytes.Equal(got[:], theirs) {
			t.Errorf("%s: the codec read id %x, securecookie %x", name, got, theirs)
		}
		if ok {
			accepted++
		}
	}
	// Fresh, an hour old, from the future, plus sign, by either encoder.
	if accepted != 6 {
		t.Errorf("the codec accepted %d of the valid values, want 6", accepted)
	}
}

// TestSessionCodecDatesByTheMiddlewaresClock: a value is good for maxAge
// after the time it was encoded at, by the clock the middleware passes,
// which tests move.
func TestSessionCodecDatesByTheMiddlewaresClock(t *testing.T) {
	keys, err := deriveKeys(bytes.Repeat([]byte("s"), 32), 3600)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_900_000_000, 0)
	id := bytes.Repeat([]byte{9}, 32)
	value := keys.session.encode(id, at)
	for _, c := range []struct {
		now  time.Time
		want bool
	}{
		{at, true},
		{at.Add(3600 * time.Second), true},
		{at.Add(3601 * time.Second), false},
		{at.Add(-time.Hour), true}, // securecookie sets no minimum age either
	} {
		got, _, ok := keys.session.verify(value, c.now)
		if ok != c.want || ok && !bytes.Equal(got[:], id) {
			t.Errorf("at %v after encoding: verify = %x, %v; want %v", c.now.Sub(at), got, ok,
				c.want)
		}
	}
}

// TestSessionCodecVerifyAllocatesNothing: the check runs on every
// browser's first request in a minute.
func TestSessionCodecVerifyAllocatesNothing(t *testing.T) {
	if raceOn() {
		t.Skip("under -race, sync.Pool drops what it is given: run without -race")
	}
	keys, err := deriveKeys(bytes.Repeat([]byte("s"), 32), 3600)
	if err != nil {
		t.Fatal(err)
	}
	value := keysEncode(t, keys, cookieName)
	if allocs := testing.AllocsPerRun(100, func() {
		if _, _, ok := keys.session.verify(value, time.Now()); !ok {
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
