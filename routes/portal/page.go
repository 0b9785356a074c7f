package portal

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/routes"
)

// PagePath is where the page is served, relative to the base path.
const PagePath = "/portal/"

// CSP is the page's Content-Security-Policy: its own scripts, styles and
// API only, no inline code, no frames, no forms posting anywhere, no base
// URL games. The page needs nothing else, and a link carries a key.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed static
var static embed.FS

// asset is one embedded file, read once at start.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// assets are the embedded files by name. Reading them cannot fail at run
// time (they are compiled in), so a failure is a build bug and panics at
// start rather than serving a broken page.
var assets = loadAssets()

func loadAssets() map[string]asset {
	out := map[string]asset{}
	err := fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := mime.TypeByExtension(path.Ext(name))
		switch path.Ext(name) { // the machine's MIME table may lack or differ on these
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".html":
			ctype = "text/html; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		out[path.Base(name)] = asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil || out["index.html"].body == nil {
		panic(fmt.Sprintf("portal: embedded assets: %v", err))
	}
	return out
}

// Page serves the portal's page and its assets, each at its own public
// route (no path parameter, so nothing but these files can be asked for).
// The zero value is ready to use.
type Page struct{}

var _ routes.Module = (*Page)(nil)

// Name implements routes.Module.
func (p *Page) Name() string { return "portal_page" }

// Routes implements routes.Module: the page, each asset, and the bare path
// redirected to the page (relative asset URLs need the trailing slash).
func (p *Page) Routes() []routes.Route {
	out := []routes.Route{
		{Method: http.MethodGet, Path: "/portal", Permission: routes.Public, Handler: p.redirect, Summary: "The webhook portal (redirect)",
			Doc: routes.Doc{Tag: "portal", Raw: true, Status: http.StatusMovedPermanently, Description: "Redirects to " + PagePath + "."}},
		{Method: http.MethodGet, Path: PagePath, Permission: routes.Public, Handler: p.serve("index.html"), Summary: "The webhook portal",
			Doc: routes.Doc{Tag: "portal", Raw: true, Description: "The portal's HTML page (text/html). Open it with a link from POST /v1/portal-sessions: the key is in the link's fragment. Strict Content-Security-Policy, no third-party resources."}},
	}
	names := make([]string, 0, len(assets))
	for name := range assets {
		if name != "index.html" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, routes.Route{Method: http.MethodGet, Path: PagePath + name, Permission: routes.Public, Handler: p.serve(name), Summary: "The webhook portal's " + name,
			Doc: routes.Doc{Tag: "portal", Raw: true, Description: "A static asset of the portal page (" + assets[name].ctype + ")."}})
	}
	return out
}

func (p *Page) redirect(c echo.Context) error {
	setSecurityHeaders(c.Response().Header())
	return c.Redirect(http.StatusMovedPermanently, c.Request().URL.Path+"/")
}

// serve answers one asset. The page's HTML is revalidated on every load
// (no-cache, with an ETag) so that a new release shows at once; scripts and
// styles may be reused for five minutes, then revalidated.
func (p *Page) serve(name string) echo.HandlerFunc {
	a := assets[name]
	cache := "public, max-age=300"
	if name == "index.html" {
		cache = "no-cache"
	}
	return func(c echo.Context) error {
		h := c.Response().Header()
		setSecurityHeaders(h)
		h.Set(echo.HeaderContentType, a.ctype)
		h.Set("ETag", a.etag)
		h.Set(echo.HeaderCacheControl, cache)
		http.ServeContent(c.Response(), c.Request(), name, time.Time{}, bytes.NewReader(a.body))
		return nil
	}
}

// setSecurityHeaders sets what every portal answer carries: the CSP, no
// MIME sniffing, no Referer (the page URL never holds the key, but say so
// anyway) and no framing.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
