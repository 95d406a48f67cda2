package zenkeytest

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
)

// Misbehavior is a broken answer an endpoint gives instead of its own, for
// [Server.Misbehave]: what a crashed provider, a misconfigured proxy or a
// captive portal sends. Each answers before the endpoint does its work, so a
// code or refresh token sent meanwhile stays usable.
type Misbehavior string

// The misbehaviours, meant for the endpoints servers call. The browser's
// endpoints (DiscoveryUI, Authorize, EndSession) give the same answers.
const (
	// Behave is the endpoint's own answer: it removes a misbehaviour.
	Behave Misbehavior = ""

	// GarbageBody answers 200 with a Content-Type of application/json and
	// a short body that is not JSON.
	GarbageBody Misbehavior = "garbage-body"

	// EnormousBody answers 200 with a well-formed JSON object of
	// EnormousSize bytes, without a Content-Length: only a client that
	// counts what it reads stops early. The body is streamed, not held in
	// memory, and the server stops writing once the client hangs up:
	// [Server.Sent] tells how much went out.
	EnormousBody Misbehavior = "enormous-body"

	// HTMLPage answers 200 with a Content-Type of text/html and a web page,
	// as a captive portal or a proxy's login page does.
	HTMLPage Misbehavior = "html-page"

	// HangUp closes the connection without an answer, as a provider that
	// crashed or a proxy that lost its upstream does: a client sees the
	// connection end (EOF), not a refused connection. Go's transport
	// retries a GET once when this happens on a reused connection, so
	// [Server.Calls] may count two requests.
	HangUp Misbehavior = "hang-up"
)

// EnormousSize is the size of an [EnormousBody], far above the few hundred
// KiB any provider document needs.
const EnormousSize = 32 << 20

// Misbehave makes e answer every later request with m instead of its own
// answer. It replaces a status set by [Server.Fail], as Fail replaces it;
// [Server.Delay] still applies first. Behave makes e work again, as does
// [Server.Heal]. It panics on an m that is none of the Misbehavior constants.
func (s *Server) Misbehave(e Endpoint, m Misbehavior) {
	switch m {
	case Behave, GarbageBody, EnormousBody, HTMLPage, HangUp:
	default:
		panic("zenkeytest: unknown Misbehavior " + strconv.Quote(string(m)))
	}
	s.setFault(e, fault{misbehavior: m})
}

// misbehave sends m, one of the misbehaviours Misbehave accepts, as the
// answer to r.
func misbehave(w http.ResponseWriter, r *http.Request, m Misbehavior) {
	switch m {
	case GarbageBody:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "\x00\xff{{zenkeytest: not JSON")
	case EnormousBody:
		writeEnormous(w, r)
	case HTMLPage:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, captivePortal)
	case HangUp:
		hangUp(w)
	}
}

// captivePortal is the page of [HTMLPage].
const captivePortal = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Network login</title></head>
<body><h1>Sign in to the network</h1>
<p>zenkeytest: a simulated captive portal, where JSON was expected.</p></body></html>
`

// writeEnormous streams a JSON object of EnormousSize bytes, in chunks,
// until the client hangs up.
func writeEnormous(w http.ResponseWriter, r *http.Request) {
	const head, tail = `{"padding":"`, `"}`
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, head)

	chunk := bytes.Repeat([]byte("a"), 32<<10)
	for left := EnormousSize - len(head) - len(tail); left > 0; {
		n, err := w.Write(chunk[:min(left, len(chunk))])
		if err != nil || r.Context().Err() != nil {
			return
		}
		left -= n
	}
	io.WriteString(w, tail)
}

// hangUp closes the request's connection without writing anything.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// An HTTP/2 stream cannot be taken over: reset it instead. This
		// panic is net/http's way to abort a response, and it logs none.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
