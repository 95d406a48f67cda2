package zenkeyecho_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeyecho"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// An Echo app signs a user in through a simulated ZenKey and greets them by
// subject on a route only signed-in users reach.
func Example() {
	idp := zenkeytest.NewServer(zenkeytest.Config{
		ClientID: "my-app", ClientSecret: "my-secret", Subject: "310999-alice",
	})
	defer idp.Close()

	app := httptest.NewUnstartedServer(nil)
	zk, err := zenkey.New(zenkey.Options{
		ClientID:       "my-app",
		ClientSecret:   "my-secret",
		RedirectURL:    "http://" + app.Listener.Addr().String() + "/auth/callback",
		SecretKey:      []byte(strings.Repeat("use 32+ random bytes! ", 2)),
		DiscoveryUIURL: idp.DiscoveryUIURL,
		DiscoveryURL:   idp.DiscoveryURL,
	})
	if err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	e.Use(zenkeyecho.Middleware(zk))
	e.GET("/profile", func(c echo.Context) error {
		return c.String(http.StatusOK, "hello "+zenkeyecho.Session(c).Subject())
	}, zenkeyecho.RequireLogin(zk))
	app.Config.Handler = e
	app.Start()
	defer app.Close()

	// A browser opens the profile, is sent through ZenKey and comes back.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	req, _ := http.NewRequest("GET", app.URL+"/profile", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := browser.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: hello 310999-alice
}
