package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/zenkey-go/zenkey"
)

// The transfer page shows transaction approval: sending money needs the
// user's approval on their phone, with the transfer's text shown there.
// Nothing is sent anywhere: it is a demo.

// Bounds of the transfer form. They keep the approval text well within
// what ZenKey shows (zenkeyContextMax): RequireApproval fails a longer text
// with 500, so the user's input is checked before it gets there.
const (
	maxAmountDigits = 6  // whole dollars, up to $999999
	maxRecipient    = 40 // characters

	// zenkeyContextMax is the most characters ZenKey shows of an approval's
	// text.
	zenkeyContextMax = 280

	// maxTransferText is the longest approval text the bounds allow.
	maxTransferText = len("Send $") + maxAmountDigits + len(" to ") + maxRecipient

	// maxTransferForm caps the body of a posted transfer form.
	maxTransferForm = 4 << 10
)

// amountFormat is a whole number of dollars, at least 1, without leading
// zeros: one spelling per amount, so the user approves what they read.
// The form's input pattern checks the same in the browser.
var (
	amountPattern = fmt.Sprintf(`[1-9][0-9]{0,%d}`, maxAmountDigits-1)
	amountFormat  = regexp.MustCompile("^" + amountPattern + "$")
)

// defaultTransfer fills the form on a first visit.
var defaultTransfer = transfer{Amount: "250", To: "Bob"}

// A transfer is what the form asks for: an amount and a recipient.
type transfer struct {
	Amount, To string
}

// readTransfer reads a transfer from form values, without surrounding
// spaces, and checks it. A transfer that is not valid comes with a
// problem: a message for the user.
func readTransfer(v url.Values) (t transfer, problem string) {
	t = transfer{Amount: strings.TrimSpace(v.Get("amount")), To: strings.TrimSpace(v.Get("to"))}
	switch {
	case t.Amount == "":
		return t, "Enter an amount."
	case !amountFormat.MatchString(t.Amount):
		return t, "The amount must be a whole number of dollars, from 1 to " +
			strings.Repeat("9", maxAmountDigits) + "."
	case t.To == "":
		return t, "Enter a recipient."
	case utf8.RuneCountInString(t.To) > maxRecipient:
		return t, fmt.Sprintf("The recipient must be at most %d characters.", maxRecipient)

	// Only what shows as itself on the phone: no control or formatting
	// character (a right-to-left override makes a text read otherwise than
	// it is), no space but ' ', no byte that is not UTF-8.
	case !utf8.ValidString(t.To) || strings.ContainsFunc(t.To, notPrintable):
		return t, "The recipient may hold letters, digits, punctuation, symbols and spaces only."
	}
	return t, ""
}

func notPrintable(r rune) bool { return !unicode.IsPrint(r) }

// text is what the user approves: it names the amount and the recipient,
// so an approval is good for this transfer only.
func (t transfer) text() string {
	return fmt.Sprintf("Send $%s to %s", t.Amount, t.To)
}

// query is the transfer as the form's query: not a secret, so it may sit
// in a URL.
func (t transfer) query() string {
	return url.Values{"amount": {t.Amount}, "to": {t.To}}.Encode()
}

// transferPage is the data of the transfer page.
type transferPage struct {
	transfer
	Sent    bool
	Problem string // why the form was refused, for the user
}

// The form's bounds, for the browser to check them too.
func (transferPage) AmountPattern() string { return amountPattern }
func (transferPage) MaxAmount() int        { return maxAmountDigits }
func (transferPage) MaxRecipient() int     { return maxRecipient }

// transferRoutes adds the form (signed-in users) and the transfer itself:
// checked, then approved, once, for exactly its text. The post is refused
// from other sites, as a bank would: the approval on the phone is the real
// guard, but no other site should be able to put it in front of the user.
func (a *app) transferRoutes(mux *http.ServeMux) {
	approve := a.zk.RequireApproval(zenkey.Approval{
		Context:  func(r *http.Request) string { return postedTransfer(r).text() },
		ReturnTo: func(r *http.Request) string { return "/transfer?" + postedTransfer(r).query() },
	}, http.HandlerFunc(a.transfer))
	mux.Handle("GET /transfer", a.zk.RequireLogin(http.HandlerFunc(a.transferForm)))
	mux.Handle("POST /transfer", http.NewCrossOriginProtection().Handler(
		a.zk.RequireLogin(a.checkTransfer(approve))))
}

// postedTransfer is the transfer of a form post that checkTransfer let
// through.
func postedTransfer(r *http.Request) transfer {
	t, _ := readTransfer(r.PostForm)
	return t
}

// checkTransfer refuses a posted transfer that is not valid with 400 and
// the form again, before any approval starts.
func (a *app) checkTransfer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxTransferForm)
		if err := r.ParseForm(); err != nil {
			a.renderStatus(w, r, http.StatusBadRequest, "transfer",
				transferPage{Problem: "The form could not be read. Try again."})
			return
		}
		if t, problem := readTransfer(r.PostForm); problem != "" {
			a.renderStatus(w, r, http.StatusBadRequest, "transfer",
				transferPage{transfer: t, Problem: problem})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// transferForm shows the form, filled from the query when it has one: an
// approval brings the user back with what they approved, to send it.
func (a *app) transferForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("amount") && !q.Has("to") {
		a.render(w, r, "transfer", transferPage{transfer: defaultTransfer})
		return
	}
	t, problem := readTransfer(q)
	if problem != "" {
		a.renderStatus(w, r, http.StatusBadRequest, "transfer",
			transferPage{transfer: t, Problem: problem})
		return
	}
	a.render(w, r, "transfer", transferPage{transfer: t})
}

// transfer "sends" an approved transfer.
func (a *app) transfer(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, "transfer", transferPage{transfer: postedTransfer(r), Sent: true})
}
