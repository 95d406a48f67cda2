package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/zenkey-go/zenkey"
)

// assets are the page templates and the static files: the app needs no
// file beside its binary and loads nothing from elsewhere.
//
//go:embed templates static
var assets embed.FS

// pages are the app's pages, each the layout with its own content.
var pages = parsePages("home", "profile", "transfer")

// parsePages parses the layout with each named page.
func parsePages(names ...string) map[string]*template.Template {
	funcs := template.FuncMap{"when": func(t time.Time) string {
		return t.Local().Format("2 Jan 2006, 15:04:05 MST")
	}}
	m := make(map[string]*template.Template, len(names))
	for _, name := range names {
		m[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(assets,
			"templates/layout.html", "templates/"+name+".html"))
	}
	return m
}

// pageCSP lets a page use the app's own style sheet, script and API, and
// nothing else: no inline script, no other origin, no framing.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// A view is what the layout needs besides the page's own data.
type view struct {
	Demo    bool   // the provider is the simulated ZenKey
	Subject string // the signed-in user, or "" when signed out
	Page    any
}

// render writes the named page with status 200.
func (a *app) render(w http.ResponseWriter, r *http.Request, name string, page any) {
	a.renderStatus(w, r, http.StatusOK, name, page)
}

// renderStatus writes the named page with the status. Every page may show
// the signed-in user, so none is stored by the browser's cache: after
// logout, Back and a reload ask the server again and show the signed-out
// state.
func (a *app) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string,
	page any) {
	v := view{Demo: a.demo, Page: page}
	if s := zenkey.SessionFromContext(r.Context()); s != nil {
		v.Subject = s.Subject()
	}
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		a.log.Error("example: rendering a page", "page", name, "error", err)
		http.Error(w, "example: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// writeJSON writes v as JSON with the status, never to be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "example: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// wantsJSON reports whether r asks for JSON rather than HTML: whichever of
// the two its Accept header names first. Quality values are not weighed.
func wantsJSON(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mediaType, _, _ := strings.Cut(part, ";")
		switch strings.TrimSpace(mediaType) {
		case "application/json":
			return true
		case "text/html":
			return false
		}
	}
	return false
}

// staticFiles serves the style sheet and the script under /static/.
func staticFiles() http.Handler {
	static, _ := fs.Sub(assets, "static") // the directory is embedded
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
