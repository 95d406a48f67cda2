package main

import (
	"crypto/rand"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// demoClientID is the client id the simulated ZenKey knows the app by.
const demoClientID = "zenkey-example"

// startSimulatedZenKey starts a simulated ZenKey on a loopback port, with
// the pages a person goes through (a carrier picker, then an approval page
// with a PIN), and points c at it: its client credentials and its carrier
// discovery endpoints. The client secret is new on every start; it never
// leaves this process.
func startSimulatedZenKey(c *config) *zenkeytest.Server {
	secret := rand.Text()
	idp := zenkeytest.NewServer(zenkeytest.Config{
		ClientID:     demoClientID,
		ClientSecret: secret,
		Interactive:  true,
	})
	c.ClientID, c.ClientSecret = demoClientID, zenkey.Secret(secret)
	c.DiscoveryUIURL, c.DiscoveryURL = idp.DiscoveryUIURL, idp.DiscoveryURL
	return idp
}
