package server

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/gatehouse-id/gatehouse/config"
	"github.com/gatehouse-id/gatehouse/pkg/ui"
	"github.com/gatehouse-id/gatehouse/templates"
)

// maxCustomCSSBytes bounds branding_custom_css_file.
const maxCustomCSSBytes = 256 << 10

// templateTree is the pages', mails', static files' and messages' tree:
// the embedded one, or the override folder of templates_dir over it. The
// renderers built on it check every file at start-up.
func templateTree(cfg config.Config) (fs.FS, error) {
	if cfg.TemplatesDir == "" {
		return templates.FS(), nil
	}
	tree, err := templates.Overlay(cfg.TemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_TEMPLATES_DIR: %w", err)
	}
	return tree, nil
}

// templatesErr names the override folder in a template or message error,
// when one is set, so the operator knows whose file is broken.
func templatesErr(cfg config.Config, what string, err error) error {
	if cfg.TemplatesDir == "" {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s (GATEHOUSE_TEMPLATES_DIR %s over the embedded templates): %w", what, cfg.TemplatesDir, err)
}

// branding is the pages' branding from the configuration; it reads the
// custom stylesheet.
func branding(cfg config.Config) (ui.Branding, error) {
	b := ui.Branding{
		ProductName: cfg.BrandingProductName, LogoURL: cfg.BrandingLogoURL, FaviconURL: cfg.BrandingFaviconURL,
		PrimaryColor: cfg.BrandingPrimaryColor, PrivacyURL: cfg.BrandingPrivacyURL, TermsURL: cfg.TermsURL,
	}
	if cfg.BrandingCustomCSSFile == "" {
		return b, nil
	}
	css, err := os.ReadFile(cfg.BrandingCustomCSSFile)
	if err != nil {
		return ui.Branding{}, fmt.Errorf("GATEHOUSE_BRANDING_CUSTOM_CSS_FILE: %w", err)
	}
	if len(css) > maxCustomCSSBytes {
		return ui.Branding{}, fmt.Errorf("GATEHOUSE_BRANDING_CUSTOM_CSS_FILE %s: %d bytes, more than %d", cfg.BrandingCustomCSSFile, len(css), maxCustomCSSBytes)
	}
	b.CustomCSS = css
	return b, nil
}
