package main

import (
	"fmt"
	"net/http"

	"github.com/zenkey-go/zenkey"
)

// The transfer page shows transaction approval: sending money needs the
// user's approval on their phone, with the transfer's text shown there.
// Nothing is sent anywhere: it is a demo.

// transferPage is the data of the transfer page.
type transferPage struct {
	Amount, To string
	Sent       bool
}

// transferRoutes adds the form (signed-in users) and the transfer itself
// (approved, once, for exactly its text).
func (a *app) transferRoutes(mux *http.ServeMux) {
	mux.Handle("GET /transfer", a.zk.RequireLogin(http.HandlerFunc(a.transferForm)))
	mux.Handle("POST /transfer", a.zk.RequireApproval(zenkey.Approval{Context: transferText},
		http.HandlerFunc(a.transfer)))
}

// transferText is what the user approves: it names the amount and the
// recipient, so an approval is good for this transfer only.
func transferText(r *http.Request) string {
	return fmt.Sprintf("Send $%s to %s", r.FormValue("amount"), r.FormValue("to"))
}

func (a *app) transferForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, "transfer", transferPage{Amount: "250", To: "Bob"})
}

func (a *app) transfer(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, "transfer", transferPage{Amount: r.FormValue("amount"), To: r.FormValue("to"), Sent: true})
}
