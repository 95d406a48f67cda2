package main

import (
	"fmt"
	"io"
	"strings"
)

// startup is what the app reports once it listens, besides its config.
type startup struct {
	appURL       string
	redirectURL  string
	simulatedURL string // the simulated ZenKey, in demo mode
	apiURL       string
	secretFrom   string // ZENKEY_SECRET_KEY or the key file's path
}

// announce prints what the app started and where. It never prints a
// secret: the master secret appears by where it came from, the client
// secret not at all, and a store's URL without its credentials.
func announce(out io.Writer, c config, s startup) {
	var b strings.Builder
	line := func(label, value string) { fmt.Fprintf(&b, "  %-17s %s\n", label, value) }

	if c.Demo {
		b.WriteString("zenkey example, demo mode: a simulated ZenKey, no carrier involved\n")
	} else {
		b.WriteString("zenkey example\n")
	}
	line("app", s.appURL)
	line("callback", s.redirectURL)
	switch {
	case c.Demo:
		line("simulated ZenKey", s.simulatedURL)
	case c.Issuer != "":
		line("OpenID issuer", c.Issuer)
		line("client id", c.ClientID)
	default:
		line("discovery UI", c.DiscoveryUIURL)
		line("discovery", c.DiscoveryURL)
		line("client id", c.ClientID)
	}
	line("demo API", s.apiURL+", proxied at /api/")
	line("store", c.Store.String())
	line("master secret", s.secretFrom)
	fmt.Fprintf(&b, "Open %s to sign in. Press Ctrl-C to stop.\n", s.appURL)
	io.WriteString(out, b.String())
}
