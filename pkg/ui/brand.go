package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Branding is what a deployment shows of itself on every page
// (docs/branding.md). The zero value is Gatehouse's own look.
type Branding struct {
	// ProductName is shown above the card and ends each page's title.
	ProductName string
	// LogoURL is the logo above the card: an https URL (its origin is
	// added to the pages' img-src) or a path on this server.
	LogoURL string
	// FaviconURL replaces the pages' icon, in the same forms.
	FaviconURL string
	// PrimaryColor (#RRGGBB) replaces the accent colour; the dark scheme
	// gets a lighter shade of it.
	PrimaryColor string
	// CustomCSS is added after the stylesheet.
	CustomCSS []byte
	// PrivacyURL and TermsURL are linked in the footer.
	PrivacyURL string
	TermsURL   string
}

// Brand is the deployment's branding as a page sees it (View.Brand).
type Brand struct {
	ProductName string
	LogoURL     string
	FaviconURL  string
	PrivacyURL  string
	TermsURL    string
	// ThemeURL is the generated stylesheet (the primary colour and the
	// custom CSS) under a hash-versioned URL, or "" when there is none.
	ThemeURL string
}

// App is the app a page is for (View.App): its registered client_name,
// logo_uri and client_uri (RFC 7591 §2). A page for an app shows the
// app's logo in place of the generic icon.
type App struct {
	Name    string
	LogoURI string
	URI     string
}

// WithBranding sets the deployment's branding.
func WithBranding(b Branding) RendererOption {
	return func(c *rendererConfig) { c.branding = b }
}

// themeName is the generated stylesheet's file name under the static
// prefix.
const themeName = "theme.css"

// newTheme builds the generated stylesheet and its URL under prefix; both
// empty when the branding needs none.
func newTheme(b Branding, prefix string) (css []byte, url string, err error) {
	var sb strings.Builder
	if b.PrimaryColor != "" {
		rules, err := accentRules(b.PrimaryColor)
		if err != nil {
			return nil, "", err
		}
		sb.WriteString(rules)
	}
	if len(b.CustomCSS) > 0 {
		sb.WriteString("\n/* branding_custom_css_file */\n")
		sb.Write(b.CustomCSS)
		sb.WriteString("\n")
	}
	if sb.Len() == 0 {
		return nil, "", nil
	}
	css = []byte(sb.String())
	sum := sha256.Sum256(css)
	return css, prefix + themeName + "?v=" + hex.EncodeToString(sum[:5]), nil
}

// serveTheme serves the generated stylesheet, immutable under its
// versioned URL.
func serveTheme(css []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Content-Length", strconv.Itoa(len(css)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(css) // the client is gone if this fails
		}
	})
}

// rgb is a colour in sRGB, each channel 0–255.
type rgb struct{ r, g, b float64 }

// parseHex reads #RRGGBB.
func parseHex(s string) (rgb, error) {
	if len(s) != 7 || s[0] != '#' {
		return rgb{}, fmt.Errorf("ui: colour %q is not #RRGGBB", s)
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return rgb{}, fmt.Errorf("ui: colour %q is not #RRGGBB", s)
	}
	return rgbOf(uint32(v)), nil
}

// hex writes the colour as #rrggbb.
func (c rgb) hex() string {
	ch := func(v float64) int { return int(math.Round(math.Max(0, math.Min(255, v)))) }
	return fmt.Sprintf("#%02x%02x%02x", ch(c.r), ch(c.g), ch(c.b))
}

// rgba writes the colour with an alpha.
func (c rgb) rgba(alpha float64) string {
	return fmt.Sprintf("rgba(%d, %d, %d, %.2f)", int(c.r), int(c.g), int(c.b), alpha)
}

// mix returns c moved the fraction t of the way to o.
func (c rgb) mix(o rgb, t float64) rgb {
	return rgb{c.r + (o.r-c.r)*t, c.g + (o.g-c.g)*t, c.b + (o.b-c.b)*t}
}

// luminance is the WCAG 2 relative luminance.
func (c rgb) luminance() float64 {
	lin := func(v float64) float64 {
		v /= 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// contrast is the WCAG 2 contrast ratio of two colours.
func contrast(a, b rgb) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// The surfaces and text colours of gatehouse.css the accent must read on,
// as 0xRRGGBB.
const (
	white       = 0xffffff
	black       = 0x000000
	lightText   = 0x16181d
	darkSurface = 0x171a20
)

// rgbOf returns the colour 0xRRGGBB.
func rgbOf(v uint32) rgb {
	return rgb{float64(v >> 16 & 0xff), float64(v >> 8 & 0xff), float64(v & 0xff)}
}

// readableOn returns, of the page's dark text and white, the one that
// reads better on bg.
func readableOn(bg rgb) rgb {
	if contrast(bg, rgbOf(white)) >= contrast(bg, rgbOf(lightText)) {
		return rgbOf(white)
	}
	return rgbOf(lightText)
}

// accentRules returns the custom properties that put the colour in place
// of gatehouse.css's accent: as given on light surfaces (darkened until
// links read at 4.5:1 on white), lightened until it reads at 4.5:1 on the
// dark surface for the dark scheme, with the button text in black or
// white, whichever reads better.
func accentRules(hexColor string) (string, error) {
	c, err := parseHex(hexColor)
	if err != nil {
		return "", err
	}
	light := c
	for i := 0; i < 20 && contrast(light, rgbOf(white)) < 4.5; i++ {
		light = light.mix(rgbOf(black), 0.1)
	}
	dark := c
	for i := 0; i < 20 && contrast(dark, rgbOf(darkSurface)) < 4.5; i++ {
		dark = dark.mix(rgbOf(white), 0.1)
	}
	var b strings.Builder
	fmt.Fprintf(&b, ":root {\n  --accent: %s;\n  --accent-strong: %s;\n  --on-accent: %s;\n  --accent-soft: %s;\n  --ring: %s;\n}\n",
		light.hex(), light.mix(rgbOf(black), 0.2).hex(), readableOn(light).hex(), c.mix(rgbOf(white), 0.9).hex(), c.rgba(0.28))
	fmt.Fprintf(&b, "@media (prefers-color-scheme: dark) {\n  :root {\n    --accent: %s;\n    --accent-strong: %s;\n    --on-accent: %s;\n    --accent-soft: %s;\n    --ring: %s;\n  }\n}\n",
		dark.hex(), dark.mix(rgbOf(white), 0.25).hex(), readableOn(dark).hex(), dark.rgba(0.14), dark.rgba(0.35))
	return b.String(), nil
}
