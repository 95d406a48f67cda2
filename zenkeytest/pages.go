package zenkeytest

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// pages are the interactive pages: the carrier picker, the approval page and a
// page for messages. They are self-contained, with no script and no external
// asset, and say on every screen that they are a simulation.
var pages = template.Must(template.New("pages").Parse(`
{{define "top"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}} · ZenKey (simulated)</title>
<style>
*{box-sizing:border-box}
body{margin:0;min-height:100vh;background:#f3f4f6;color:#1f2937;
 font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.sim{background:#fef3c7;color:#78350f;text-align:center;font-size:14px;padding:6px 12px;
 border-bottom:1px solid #fcd34d}
main{max-width:420px;margin:48px auto;padding:0 16px}
.card{background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:28px}
.brand{font-weight:700;letter-spacing:.02em;color:#374151;margin:0 0 20px}
.brand span{font-weight:400;color:#6b7280}
h1{font-size:22px;margin:0 0 8px}
p{margin:0 0 16px}
.muted{color:#6b7280;font-size:14px}
.context{font-size:19px;font-weight:600;background:#f9fafb;border-left:4px solid #4b5563;
 padding:12px 14px;margin:0 0 20px;white-space:pre-wrap;overflow-wrap:anywhere}
.problem{background:#fee2e2;color:#991b1b;border-radius:8px;padding:10px 12px}
label{display:block;font-weight:600;margin:16px 0 6px}
input{width:100%;font:inherit;padding:10px 12px;border:1px solid #d1d5db;border-radius:8px}
input.pin{font-size:24px;letter-spacing:.5em;text-align:center}
button{font:inherit;border-radius:8px;padding:10px 14px;cursor:pointer;border:1px solid #d1d5db;
 background:#fff;color:#1f2937}
button.primary{background:#1f2937;border-color:#1f2937;color:#fff}
.carriers button{display:flex;justify-content:space-between;width:100%;margin:0 0 8px;
 text-align:left}
.carriers small{color:#6b7280}
.actions{display:flex;gap:10px;margin-top:20px}
.actions button{flex:1}
ul{padding-left:20px;margin:0 0 16px}
</style>
</head>
<body>
<div class="sim">Simulation for tests and development: not a real ZenKey service.</div>
<main><div class="card">
<p class="brand">ZenKey <span>(simulated)</span></p>
{{end}}

{{define "bottom"}}</div></main>
</body>
</html>
{{end}}

{{define "message"}}{{template "top" .Title}}
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{template "bottom"}}{{end}}

{{define "picker"}}{{template "top" "Choose your carrier"}}
<h1>Choose your carrier</h1>
<p class="muted">Only the first carrier offers ZenKey here; the others let you
try a carrier that does not.</p>
{{if .Problem}}<p class="problem">{{.Problem}}</p>{{end}}
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<div class="carriers">
{{range .Carriers}}<button type="submit" name="mccmnc" value="{{.MCCMNC}}">{{.Name}}
<small>{{.MCCMNC}}</small></button>
{{end}}</div>
</form>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label for="phone">Or enter your phone number</label>
<input id="phone" name="phone" type="tel" autocomplete="tel" value="{{.Phone}}"
 placeholder="(310) 555-0123" required>
<div class="actions"><button class="primary" type="submit">Continue</button></div>
</form>
{{template "bottom"}}{{end}}

{{define "approval"}}{{template "top" "Approve sign-in"}}
<h1>Approve sign-in</h1>
<p class="muted">{{.ClientID}} asks you to confirm, with {{.Carrier}}:</p>
<p class="context">{{.Context}}</p>
{{if .Claims}}<p class="muted">It will receive your:</p>
<ul>{{range .Claims}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Problem}}<p class="problem">{{.Problem}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="request" value="{{.Request}}">
<label for="pin">ZenKey PIN</label>
<input id="pin" class="pin" name="pin" type="password" inputmode="numeric"
 pattern="[0-9]{4}" maxlength="4" autocomplete="off" required autofocus>
<p class="muted">Any four digits are accepted in this simulation.</p>
<div class="actions">
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
<button class="primary" type="submit" name="decision" value="approve">Approve</button>
</div>
</form>
{{template "bottom"}}{{end}}
`))

// hiddenField is a form field the picker carries over from the request.
type hiddenField struct{ Name, Value string }

// pickerPage is the data of the carrier picker.
type pickerPage struct {
	Action   string
	Hidden   []hiddenField
	Carriers []carrier
	Phone    string
	Problem  string
}

// approvalPage is the data of the approval page.
type approvalPage struct {
	Action   string
	Request  string // the authorization request, query-encoded
	ClientID string
	Carrier  string
	Context  string
	Claims   []string
	Problem  string
}

// messagePage is the data of a page that only says something.
type messagePage struct{ Title, Text string }

// renderPicker shows the carrier picker for the discovery request q, with a
// problem to correct when there is one.
func (s *Server) renderPicker(w http.ResponseWriter, status int, q url.Values, problem string) {
	var hidden []hiddenField
	for _, name := range []string{"client_id", "redirect_uri", "state", "prompt"} {
		if q.Has(name) {
			hidden = append(hidden, hiddenField{name, q.Get(name)})
		}
	}
	render(w, status, "picker", pickerPage{
		Action:   "/ui/discovery-ui/choice",
		Hidden:   hidden,
		Carriers: s.carriers(),
		Phone:    q.Get("phone"),
		Problem:  problem,
	})
}

// renderApproval shows the approval page for the authorization request q: the
// app's context text first, then the PIN.
func (s *Server) renderApproval(w http.ResponseWriter, status int, q url.Values, problem string) {
	context := q.Get("context")
	if context == "" {
		context = "Sign in to " + q.Get("client_id")
	}
	claims := slices.DeleteFunc(strings.Fields(q.Get("scope")), func(scope string) bool {
		return scope == "openid" || scope == "offline_access"
	})
	render(w, status, "approval", approvalPage{
		Action:   s.issuerPath() + "/authorize/decision",
		Request:  q.Encode(),
		ClientID: q.Get("client_id"),
		Carrier:  carrierName + " (" + s.cfg.MCCMNC + ")",
		Context:  context,
		Claims:   claims,
		Problem:  problem,
	})
}

// renderMessage shows a page with a title and a sentence.
func renderMessage(w http.ResponseWriter, status int, title, text string) {
	render(w, status, "message", messagePage{title, text})
}

// pageCSP allows the pages their inline style and nothing else: no script, no
// asset, no framing.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

// render executes a page into a buffer first, so a failure is a clean 500.
func render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "zenkeytest: rendering "+name+": "+err.Error(),
			http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
