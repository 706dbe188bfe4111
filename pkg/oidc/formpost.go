package oidc

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
)

// formPostScript submits the form as soon as the page loads. It is the only
// script Gatehouse serves; the page's Content-Security-Policy allows exactly
// it by hash.
const formPostScript = `document.forms[0].submit();`

// formPostCSP is the Content-Security-Policy of the form_post page.
func formPostCSP() string {
	sum := sha256.Sum256([]byte(formPostScript))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'"
}

// formPostTemplate is the OAuth 2.0 Form Post Response Mode page: the
// response parameters as hidden fields, posted to the client by the script,
// or by the button where scripts do not run.
var formPostTemplate = template.Must(template.New("form_post").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>…</title></head>
<body>
<form method="post" action="{{ .RedirURL }}">
{{ range $key, $values := .Parameters }}{{ range $values }}<input type="hidden" name="{{ $key }}" value="{{ . }}">
{{ end }}{{ end }}<noscript><button type="submit">Continue</button></noscript>
</form>
<script>` + formPostScript + `</script>
</body>
</html>`))
