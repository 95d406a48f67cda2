package zenkey

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// A session's plaintext is its tokens, which are most of its bytes, each
// prefixed by its length, then its other fields as JSON. encoding/json
// reads a string a byte at a time, and a handler that asks for the
// session's subject pays for opening the whole session: kept out of the
// JSON, the tokens cost a copy, and a session opens several times faster.
//
//	blobFormat | uvarint len | id_token | ... | nonce | JSON of the rest

// blobFormat is the first byte of a session's plaintext. A JSON object
// starts with '{': the two never meet.
const blobFormat = 1

var errBlobFormat = errors.New("zenkey: session record: unknown format or cut short")

// tokens lists d's token fields, in the order the plaintext holds them.
func (d *sessionData) tokens() [4]*token {
	return [4]*token{&d.IDToken, &d.AccessToken, &d.RefreshToken, &d.Nonce}
}

// marshal encodes d as a session's plaintext.
func (d *sessionData) marshal() ([]byte, error) {
	rest, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("zenkey: session record: %w", err)
	}
	n := 1 + len(rest)
	for _, t := range d.tokens() {
		n += binary.MaxVarintLen32 + len(*t)
	}
	plain := append(make([]byte, 0, n), blobFormat)
	for _, t := range d.tokens() {
		plain = binary.AppendUvarint(plain, uint64(len(*t)))
		plain = append(plain, *t...)
	}
	return append(plain, rest...), nil
}

// unmarshal decodes a session's plaintext into d.
func (d *sessionData) unmarshal(plain []byte) error {
	if len(plain) == 0 || plain[0] != blobFormat {
		return errBlobFormat
	}
	plain = plain[1:]
	for _, t := range d.tokens() {
		n, k := binary.Uvarint(plain)
		if k <= 0 || n > uint64(len(plain)-k) {
			return errBlobFormat
		}
		*t = token(plain[k : k+int(n)])
		plain = plain[k+int(n):]
	}
	if err := json.Unmarshal(plain, d); err != nil {
		return fmt.Errorf("zenkey: session record: %w", err)
	}
	return nil
}
