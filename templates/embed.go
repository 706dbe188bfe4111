// Package templates holds the hosted pages: their HTML templates, the
// stylesheet and other static files, and the locale message files, all
// embedded in the binary.
//
// Layout of FS():
//
//	layout.html, login.html, consent.html, ...  page templates (package ui renders them)
//	static/                                     files served under StaticPrefix
//	locales/*.json                              go-i18n message files (package i18n loads them)
//	mail/                                       mail templates: layout.html, layout.txt, KIND.html, KIND.txt (package mail renders them)
package templates

import (
	"embed"
	"fmt"
	"io/fs"
)

// StaticPrefix is the URL path under which the server serves StaticFS; the
// page templates link the stylesheet from there.
const StaticPrefix = "/static/"

// files is the embedded tree. A package-level variable is the only form
// //go:embed accepts; it is read-only.
//
//go:embed *.html static locales mail
var files embed.FS

// FS returns the embedded templates, static files, locales and mail
// templates.
func FS() fs.FS {
	return files
}

// StaticFS returns the static files (the stylesheet, the icon), rooted so
// that the stylesheet is "gatehouse.css". Serve it under StaticPrefix.
func StaticFS() (fs.FS, error) {
	return StaticFSOf(files)
}

// StaticFSOf returns the static/ folder of a templates tree (FS(), or
// Overlay's), rooted there.
func StaticFSOf(tree fs.FS) (fs.FS, error) {
	sub, err := fs.Sub(tree, "static")
	if err != nil {
		return nil, fmt.Errorf("templates: static files: %w", err)
	}
	return sub, nil
}
