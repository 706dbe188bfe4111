// Package browser is a small test browser: it keeps cookies, follows
// redirects inside one site, and fills and submits the HTML forms of the
// pages it gets, the way a person's browser would. The end-to-end tests and
// the load generator (cmd/gatehouse-load) drive it; it never runs scripts.
package browser

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Browser is a cookie-keeping HTTP client that stops at redirects that leave
// the site (to a client's redirect URI) so the test can read them.
type Browser struct {
	Client *http.Client
	site   string // scheme://host of the server under test
	// Header is sent with every request (e.g. Accept-Language).
	Header http.Header
}

// New returns a browser for the site at base.
func New(base string) *Browser {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	b := &Browser{site: u.Scheme + "://" + u.Host, Header: http.Header{}}
	b.Client = &http.Client{
		Jar: jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Scheme+"://"+req.URL.Host != b.site {
				return http.ErrUseLastResponse
			}
			if len(via) > 20 {
				return fmt.Errorf("too many redirects")
			}
			for k, v := range b.Header {
				req.Header[k] = v
			}
			return nil
		},
	}
	return b
}

// Page is a response the browser received.
type Page struct {
	Status   int
	URL      *url.URL
	Header   http.Header
	Body     string
	Location string // where a redirect leaving the site points
}

// Get loads a URL.
func (b *Browser) Get(u string) (*Page, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return b.Do(req)
}

// Do sends a request with the browser's headers and cookies.
func (b *Browser) Do(req *http.Request) (*Page, error) {
	for k, v := range b.Header {
		req.Header[k] = v
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Page{Status: resp.StatusCode, URL: resp.Request.URL, Header: resp.Header, Body: string(body), Location: resp.Header.Get("Location")}, nil
}

// Form is an HTML form found on a page.
type Form struct {
	Action string
	Method string
	Fields url.Values          // hidden, text, email, password, checked boxes
	Submit map[string][]string // buttons' name -> values
}

// Forms returns the page's forms, actions resolved against the page URL.
func (p *Page) Forms() ([]Form, error) {
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		return nil, err
	}
	var forms []Form
	var cur *Form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				action, _ := p.URL.Parse(attr(n, "action"))
				if attr(n, "action") == "" {
					action = p.URL
				}
				method := strings.ToUpper(attr(n, "method"))
				if method == "" {
					method = http.MethodGet
				}
				forms = append(forms, Form{Action: action.String(), Method: method, Fields: url.Values{}, Submit: map[string][]string{}})
				cur = &forms[len(forms)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				cur = nil
				return
			case "input":
				if cur != nil && attr(n, "name") != "" {
					switch strings.ToLower(attr(n, "type")) {
					case "checkbox", "radio":
						if hasAttr(n, "checked") {
							cur.Fields.Add(attr(n, "name"), valueOr(n, "on"))
						}
					case "submit":
						cur.Submit[attr(n, "name")] = append(cur.Submit[attr(n, "name")], attr(n, "value"))
					default:
						cur.Fields.Add(attr(n, "name"), attr(n, "value"))
					}
				}
			case "button":
				if cur != nil && attr(n, "name") != "" && (attr(n, "type") == "" || attr(n, "type") == "submit") {
					cur.Submit[attr(n, "name")] = append(cur.Submit[attr(n, "name")], attr(n, "value"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return forms, nil
}

// FormWith returns the first form that has a field or button with the name.
func (p *Page) FormWith(name string) (Form, error) {
	forms, err := p.Forms()
	if err != nil {
		return Form{}, err
	}
	for _, f := range forms {
		if _, ok := f.Fields[name]; ok {
			return f, nil
		}
		if _, ok := f.Submit[name]; ok {
			return f, nil
		}
	}
	return Form{}, fmt.Errorf("no form with %q on %s (status %d): %.400s", name, p.URL, p.Status, p.Body)
}

// Submit sends the form with the given values set over its own, as a click
// on a button that adds button=value when button is not empty.
func (b *Browser) Submit(f Form, set url.Values, button, value string) (*Page, error) {
	vals := url.Values{}
	for k, v := range f.Fields {
		vals[k] = append([]string(nil), v...)
	}
	for k, v := range set {
		vals[k] = v
	}
	if button != "" {
		vals.Set(button, value)
	}
	var req *http.Request
	var err error
	if f.Method == http.MethodPost {
		req, err = http.NewRequest(http.MethodPost, f.Action, strings.NewReader(vals.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		u, perr := url.Parse(f.Action)
		if perr != nil {
			return nil, perr
		}
		u.RawQuery = vals.Encode()
		req, err = http.NewRequest(http.MethodGet, u.String(), nil)
	}
	if err != nil {
		return nil, err
	}
	return b.Do(req)
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, name string) bool {
	for _, a := range n.Attr {
		if a.Key == name {
			return true
		}
	}
	return false
}

func valueOr(n *html.Node, def string) string {
	if hasAttr(n, "value") {
		return attr(n, "value")
	}
	return def
}
