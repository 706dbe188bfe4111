package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxProductNameRunes bounds the product name shown on every page.
const maxProductNameRunes = 80

// hexColor is the one form BrandingPrimaryColor takes: #RRGGBB.
var hexColor = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// brandingChecks are the rules of the branding settings and the template
// override folder (docs/branding.md). Files are read at start-up by the
// server, which names the setting when one is missing or broken.
func (c Config) brandingChecks() []check {
	name := c.BrandingProductName
	return []check{
		{utf8.RuneCountInString(name) > maxProductNameRunes, fmt.Sprintf("GATEHOUSE_BRANDING_PRODUCT_NAME: must be at most %d characters (got %d)", maxProductNameRunes, utf8.RuneCountInString(name))},
		{strings.IndexFunc(name, unicode.IsControl) >= 0, "GATEHOUSE_BRANDING_PRODUCT_NAME: must not contain control characters"},
		{c.BrandingPrimaryColor != "" && !hexColor.MatchString(c.BrandingPrimaryColor), fmt.Sprintf("GATEHOUSE_BRANDING_PRIMARY_COLOR: must be a colour in the form #RRGGBB, such as #0b7a4b (got %q)", c.BrandingPrimaryColor)},
		c.imageURLCheck("GATEHOUSE_BRANDING_LOGO_URL", c.BrandingLogoURL),
		c.imageURLCheck("GATEHOUSE_BRANDING_FAVICON_URL", c.BrandingFaviconURL),
		c.pageURLCheck("GATEHOUSE_BRANDING_PRIVACY_URL", c.BrandingPrivacyURL),
	}
}

// webURLProblem says what keeps raw from being an absolute https URL (or
// http under DevAllowLoopbackURLs) without user information or fragment,
// or "" when it is one.
func (c Config) webURLProblem(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return "must be an absolute https URL"
	case u.Scheme != "https" && !(u.Scheme == "http" && c.DevAllowLoopbackURLs):
		return "must use https (http only with GATEHOUSE_DEV_ALLOW_LOOPBACK_URLS)"
	case u.User != nil:
		return "must not contain a user name or password"
	case u.Fragment != "":
		return "must not have a fragment"
	}
	return ""
}

// pageURLCheck is the rule of a link the pages show: an https URL.
func (c Config) pageURLCheck(env, raw string) check {
	if raw == "" {
		return check{}
	}
	p := c.webURLProblem(raw)
	return check{p != "", fmt.Sprintf("%s: %s (got %q)", env, p, raw)}
}

// imageURLCheck is the rule of an image the pages load: an https URL, or
// an absolute path on this server ("/static/logo.svg").
func (c Config) imageURLCheck(env, raw string) check {
	if raw == "" {
		return check{}
	}
	if strings.HasPrefix(raw, "/") {
		u, err := url.Parse(raw)
		bad := err != nil || strings.HasPrefix(raw, "//") || strings.Contains(raw, `\`) || u.Host != "" || u.Fragment != ""
		return check{bad, fmt.Sprintf("%s: must be an https URL or a path on this server such as /static/logo.svg (got %q)", env, raw)}
	}
	p := c.webURLProblem(raw)
	return check{p != "", fmt.Sprintf("%s: %s, or a path on this server such as /static/logo.svg (got %q)", env, p, raw)}
}
