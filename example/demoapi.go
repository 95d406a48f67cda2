package main

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// A demoAPI stands for the app's own API: a separate server, on a loopback
// port, that the browser reaches only through the app's proxy at /api/. The
// proxy adds the session's access token; the browser never holds it.
type demoAPI struct {
	URL *url.URL
	srv *http.Server
}

// startDemoAPI starts the demo API on a loopback port.
func startDemoAPI() (*demoAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", hello)
	a := &demoAPI{
		URL: &url.URL{Scheme: "http", Host: ln.Addr().String()},
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
	}
	go a.srv.Serve(ln)
	return a, nil
}

// Close stops the demo API at once: the app's server has stopped sending it
// requests by then.
func (a *demoAPI) Close() error {
	return a.srv.Close()
}

// hello answers GET /hello: a greeting for a caller with a bearer token.
// A real API would check the token (with the provider's userinfo endpoint or
// its introspection); this one only shows that the proxy sent one. It never
// echoes the token.
func hello(w http.ResponseWriter, r *http.Request) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeJSON(w, http.StatusUnauthorized, apiAnswer{Message: "no access token",
			Authorized: false})
		return
	}
	writeJSON(w, http.StatusOK, apiAnswer{Message: "hello from the API", Authorized: true})
}

// apiAnswer is the demo API's JSON answer.
type apiAnswer struct {
	Message    string `json:"message"`
	Authorized bool   `json:"authorized"`
}
