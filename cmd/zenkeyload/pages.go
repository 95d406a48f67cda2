package main

import (
	"html"
	"net/url"
	"regexp"
	"strings"
)

// The example's simulated ZenKey (zenkeytest with Interactive) shows a
// person two pages: a carrier picker, whose first carrier is the one that
// offers ZenKey, then an approval page that asks for a PIN of four digits,
// any of which it accepts. These patterns read its forms as it writes them.
var (
	formTag     = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	carrierPick = regexp.MustCompile(`<button type="submit" name="mccmnc" value="([0-9]{6})">`)
	pinInput    = regexp.MustCompile(`<input [^>]*name="pin"`)
)

// demoPIN is the PIN typed on the approval page.
const demoPIN = "1234"

// A pageForm is a provider page's form, filled in: where to post it, and
// its fields.
type pageForm struct {
	action string // absolute URL
	values url.Values
}

// providerForm fills in the first form of a provider page as a person
// would: the first carrier on the picker, or the PIN and Approve on the
// approval page. It reports false for any other page.
func providerForm(p page) (pageForm, bool) {
	tag := formTag.FindStringSubmatchIndex(p.body)
	if tag == nil {
		return pageForm{}, false
	}
	action, err := p.url.Parse(html.UnescapeString(p.body[tag[2]:tag[3]]))
	if err != nil {
		return pageForm{}, false
	}
	// The picker has a second form, for a phone number: read the first only.
	form, _, _ := strings.Cut(p.body[tag[1]:], "</form>")

	values := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(form, -1) {
		values.Set(m[1], html.UnescapeString(m[2]))
	}
	carrier := carrierPick.FindStringSubmatch(form)
	switch {
	case carrier != nil:
		values.Set("mccmnc", carrier[1])
	case pinInput.MatchString(form):
		values.Set("pin", demoPIN)
		values.Set("decision", "approve")
	default:
		return pageForm{}, false
	}
	return pageForm{action.String(), values}, true
}
