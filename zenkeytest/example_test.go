package zenkeytest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/zenkey-go/zenkey/zenkeytest"
)

// A relying party built from x/oauth2 and go-oidc logs in against the
// simulated provider, which approves at once.
func Example() {
	s := zenkeytest.NewServer(zenkeytest.Config{
		ClientID:     "my-client",
		ClientSecret: "my-secret",
	})
	defer s.Close()

	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, s.Issuer)
	if err != nil {
		log.Fatal(err)
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic
	conf := oauth2.Config{
		ClientID:     "my-client",
		ClientSecret: "my-secret",
		Endpoint:     endpoint,
		RedirectURL:  "http://localhost:8080/auth/callback",
		Scopes:       []string{oidc.ScopeOpenID, "name", "email", oidc.ScopeOfflineAccess},
	}

	// The browser's part: the authorize endpoint redirects to the callback.
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-1", oidc.Nonce("nonce-1"),
		oauth2.S256ChallengeOption(verifier))
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := browser.Get(authURL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	callback, err := resp.Location()
	if err != nil {
		log.Fatal(err)
	}

	// The callback's part: exchange the code, verify the id_token.
	tok, err := conf.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		log.Fatal(err)
	}
	rawIDToken, _ := tok.Extra("id_token").(string)
	idToken, err := provider.Verifier(&oidc.Config{ClientID: "my-client"}).Verify(ctx, rawIDToken)
	if err != nil {
		log.Fatal(err)
	}

	fmt.Println("carrier:", callback.Query().Get("mccmnc"))
	fmt.Println("nonce:", idToken.Nonce)
	fmt.Println("sub starts with the carrier:", strings.HasPrefix(idToken.Subject, "310999-"))
	fmt.Println("refresh token:", tok.RefreshToken != "")
	// Output:
	// carrier: 310999
	// nonce: nonce-1
	// sub starts with the carrier: true
	// refresh token: true
}

// ZenKey's discovery issuer answers provider_not_found for a carrier that
// does not offer ZenKey.
func Example_unknownCarrier() {
	s := zenkeytest.NewServer(zenkeytest.Config{ClientID: "my-client", ClientSecret: "s"})
	defer s.Close()

	resp, err := http.Get(s.DiscoveryURL + "?client_id=my-client&mccmnc=310998")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, answer.Error)
	// Output: 404 provider_not_found
}

// A failing endpoint answers with the status it was given, until Heal.
func ExampleServer_Fail() {
	s := zenkeytest.NewServer(zenkeytest.Config{ClientID: "my-client", ClientSecret: "s"})
	defer s.Close()

	s.Fail(zenkeytest.JWKS, http.StatusServiceUnavailable)
	resp, err := http.Get(s.Issuer + "/jwks")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)

	s.Heal()
	resp, err = http.Get(s.Issuer + "/jwks")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, s.Calls(zenkeytest.JWKS))
	// Output:
	// 503
	// 200 2
}

// A misbehaving endpoint answers what no provider should, here a captive
// portal's page where JSON was expected, until Heal.
func ExampleServer_Misbehave() {
	s := zenkeytest.NewServer(zenkeytest.Config{ClientID: "my-client", ClientSecret: "s"})
	defer s.Close()

	s.Misbehave(zenkeytest.Configuration, zenkeytest.HTMLPage)
	_, err := oidc.NewProvider(context.Background(), s.Issuer)
	fmt.Println("provider:", err != nil)

	s.Misbehave(zenkeytest.Configuration, zenkeytest.HangUp)
	_, err = http.Get(s.Issuer + "/.well-known/openid-configuration")
	fmt.Println("hung up:", err != nil)

	s.Heal()
	_, err = oidc.NewProvider(context.Background(), s.Issuer)
	fmt.Println("healed:", err == nil)
	// Output:
	// provider: true
	// hung up: true
	// healed: true
}

// A user who moved from another carrier brings a port token, signed by that
// carrier, in the id_token's "aka" claim.
func ExampleServer_AddPreviousCarrier() {
	s := zenkeytest.NewServer(zenkeytest.Config{ClientID: "my-client", ClientSecret: "s"})
	defer s.Close()

	issuer := s.AddPreviousCarrier("311480", "311480-7f3a")
	fmt.Println(strings.TrimPrefix(issuer, s.URL))

	// The old carrier publishes its key, as any OpenID provider does.
	old, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	raw := s.PortToken("311480", map[string]any{ // or take it from the id_token's aka
		"iss": issuer, "sub": "311480-7f3a", "aud": "my-client",
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"ported_to": "310999-0b1c",
	})
	port, err := old.Verifier(&oidc.Config{ClientID: "my-client"}).
		Verify(context.Background(), raw)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(port.Subject)
	// Output:
	// /carrier/311480
	// 311480-7f3a
}
