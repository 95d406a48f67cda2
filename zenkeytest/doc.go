// Package zenkeytest provides a ZenKey-compatible OpenID provider for tests
// and local development, in the spirit of net/http/httptest.
//
// A [Server] plays every part of "Sign in with ZenKey" on a loopback port:
//
//   - the carrier discovery UI, at [Server.DiscoveryUIURL], which returns the
//     configured carrier's mccmnc (and a login_hint_token on request);
//   - ZenKey's discovery issuer, at [Server.DiscoveryURL], which returns that
//     carrier's OpenID configuration and provider_not_found for any other;
//   - the carrier's OpenID provider at [Server.Issuer]: standard discovery,
//     authorize, token, userinfo, JWKS, revocation and end_session endpoints.
//
// It checks what a carrier checks: client_secret_basic without a repeated
// client_id, or private_key_jwt assertions once [Server.SetClientKey] has the
// client's key, PKCE with S256, state and nonce, acr_values without a2, a
// context of at most 280 characters, a well-formed correlation_id. Codes are
// single use and refresh tokens rotate. The id_token is signed with RS256 and
// carries ZenKey's claims: a sub that starts with the mccmnc, acr, amr,
// at_hash, and a provider session id in sid. Userinfo claims are ZenKey's
// nested objects.
//
// Every authorization is a new login, prompt=login or not: its id_token has
// the auth_time of the approval, the acr requested and a sid of its own, which
// refreshes keep. For a step-up, such as approving a payment, the relying
// party sends the text to show the user as context, and the id_token echoes it
// in a "context" claim ([Server.EchoContext] turns that off). A user who moved
// from another carrier, set up with [Server.AddPreviousCarrier], brings port
// tokens signed by that carrier in the id_token's "aka" claim.
//
// By default the provider approves every valid request at once, so a test
// can walk the redirects with a plain [net/http.Client]. With
// [Config.Interactive] it serves pages instead, for a person at a browser: a
// carrier picker and an approval page that shows the app's context text and
// asks for a PIN. Both say plainly that they are a simulation.
//
// Switches make the provider misbehave, for the relying party's error paths:
// [Server.EditClaims], [Server.EditIDToken], [Server.SignWithUnpublishedKey],
// [Server.RotateKey], [Server.HideKeys], [Server.Fail], [Server.Misbehave]
// (garbage, enormous or HTML answers, or a connection closed without one),
// [Server.Delay], [Server.SetTokenError], [Server.SetAuthorizeError] and
// [Server.EchoContext]; [Server.Heal] undoes them. [Server.Calls] counts the
// requests each [Endpoint] received, and [Server.Sent] the bytes it answered.
// Every method is safe for concurrent use with the requests the server is
// serving.
//
// ZenKey has no logout endpoint. The end_session endpoint and
// [Server.LogoutToken] serve the relying party's standard-provider path.
//
// # Example
//
// A test starts a provider and points the relying party at it:
//
//	s := zenkeytest.NewServer(zenkeytest.Config{
//		ClientID:     "my-client",
//		ClientSecret: "my-secret",
//	})
//	defer s.Close()
//
//	// Carrier discovery: s.DiscoveryUIURL and s.DiscoveryURL,
//	// or standard OpenID discovery at s.Issuer.
//	provider, err := oidc.NewProvider(ctx, s.Issuer)
//
// and then makes it fail where the test needs it to:
//
//	s.SetTokenError("invalid_grant")                // code exchange and refresh fail
//	s.Fail(zenkeytest.UserInfo, 503)                // userinfo is unavailable
//	s.Misbehave(zenkeytest.JWKS, zenkeytest.HangUp) // the keys' host is down
//	s.EditClaims(func(c map[string]any) {           // a token for someone else
//		c["aud"] = "another-client"
//	})
package zenkeytest
