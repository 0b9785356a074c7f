package e2e

// The webhook portal (issue 12) in a real browser: Debian's chromium, driven
// over the DevTools protocol by chromedp, against the real binary with
// PostgreSQL, Redis and a local receiver. A missing chromium fails the
// test (.ci/services.sh installs it); it is never skipped. Chromium runs
// with every background service off and a host resolver that knows no name,
// so it opens nothing but the gateway on loopback.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"

	"github.com/leadlex/api-gateway/gateway/signature"
)

// chromiumPath is Debian's chromium, which .ci/services.sh installs.
const chromiumPath = "/usr/bin/chromium"

// browser is one headless chromium for a test, with its screenshot
// directory and a record of page errors (uncaught exceptions, console
// errors, CSP violations), which fail the test.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string

	mu       sync.Mutex
	failures []string
}

// step is one browser action without a result.
type step = chromedp.Action[chromedp.Void]

// css selects the first element matching a CSS selector.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("chromium is missing (%v): install it with `.ci/services.sh install chromium`; make test does", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("no-proxy-server", true),
		// Names resolve to nothing: the page may reach only 127.0.0.1.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })

	shots := os.Getenv("PORTAL_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "leadlex-portal-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, ctx: ctx, shots: shots}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// Failed fetches are logged by the network; the tests cause
			// 401s, 403s and 429s on purpose. Anything else at error level
			// (CSP violations included) is a failure.
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source != "network") {
				b.mu.Lock()
				b.failures = append(b.failures, m.String())
				b.mu.Unlock()
			}
		}
	}()
	t.Logf("portal screenshots go to %s", shots)
	return b
}

// do runs steps in ctx, failing the test with what on error.
func (b *browser) do(ctx context.Context, what string, steps ...step) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage: %.3000s", what, err, b.html(ctx))
	}
}

// html is the page's main element, for failure messages.
func (b *browser) html(ctx context.Context) string {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(sctx, chromedp.OuterHTML(css("main")))
	return s
}

// shot saves a full-page screenshot of the tab as name.png.
func (b *browser) shot(ctx context.Context, name string) {
	b.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// checkPage fails the test for every page error recorded so far.
func (b *browser) checkPage() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, msg := range b.failures {
		b.t.Errorf("the page reported an error: %s", msg)
	}
	b.failures = nil
}

// text returns the text of the first visible element matching sel.
func (b *browser) text(ctx context.Context, sel string) string {
	b.t.Helper()
	b.do(ctx, "wait for "+sel, chromedp.WaitVisible(css(sel)))
	s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, ctx context.Context, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// count returns how many elements match sel.
func (b *browser) count(ctx context.Context, sel string) int {
	b.t.Helper()
	return eval[int](b, ctx, fmt.Sprintf("document.querySelectorAll(%q).length", sel))
}

// until clicks refresh (when set) until sel matches, each time giving the
// page 400 ms to render the answer, so that no render is still under way
// when the caller acts on the page.
func (b *browser) until(ctx context.Context, what, sel, refresh string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for b.count(ctx, sel) == 0 {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s never appeared:\n%.3000s", what, sel, b.html(ctx))
		}
		if refresh != "" {
			// Clicked in the page, in one step: the button may be
			// re-rendered between finding it and clicking it, which
			// makes chromedp's Click lose its node.
			eval[bool](b, ctx, fmt.Sprintf("(() => { const e = document.querySelector(%q); if (e) e.click(); return !!e; })()", refresh))
		}
		time.Sleep(400 * time.Millisecond)
	}
}

// portalLink asks the API for a portal link with body, as key.
func portalLink(t *testing.T, g *gw, k key, body string) (id, link string) {
	t.Helper()
	r := g.do(req{method: "POST", path: "/v1/portal-sessions", key: k.Key, body: body})
	if r.Status != 201 {
		t.Fatalf("portal session: %d %s", r.Status, r.Raw)
	}
	s := r.data()["portal_session"].(map[string]any)
	link = s["url"].(string)
	if !strings.HasPrefix(link, g.url+base+"/portal/#k=wbk_") {
		t.Fatalf("link %q is not this gateway's portal with a key in the fragment", link)
	}
	return s["id"].(string), link
}

// TestPortalBrowser walks through the portal as a customer would, with a
// read-write link: create a webhook and read its secret once, watch a
// published event arrive in the logs, open it with its payload, retry it,
// send a test event, rotate the secret, pause, delete; the catalog, the
// signature guide and the phone layout. Then a read-only link, which shows
// no write controls and whose key the API refuses writes from, and links
// that were revoked or have expired.
func TestPortalBrowser(t *testing.T) {
	d := newDeliveryEnv(t, 1, nil)
	b := newBrowser(t)
	ctx := b.ctx
	_, link := portalLink(t, d.g, d.admin, `{"mode": "read_write", "expires_in_seconds": 600}`)

	// Open the link: the empty list, and the key gone from the address bar.
	b.do(ctx, "open the link", chromedp.Navigate("about:blank"), chromedp.Navigate(link), chromedp.WaitVisible(css("#no-webhooks")))
	if hash := eval[string](b, ctx, "location.hash"); hash != "" {
		t.Errorf("the key stayed in the address bar: %q", hash)
	}
	if got := b.text(ctx, "#mode"); got != "Read & write" {
		t.Errorf("mode badge = %q", got)
	}
	b.shot(ctx, "01-webhooks-empty")

	// Create, with the keyboard: focus the button, press Enter.
	hookURL := d.rc.URL("/portal/crm")
	b.do(ctx, "open the create form", chromedp.Focus(css("#new-webhook")), chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(css("#webhook-form")),
		chromedp.SendKeys(css("#f-url"), hookURL),
		chromedp.Click(css(`input[name=events][value="contact.created"]`)),
		chromedp.SendKeys(css("#f-description"), "CRM sync"))
	b.shot(ctx, "02-create")
	b.do(ctx, "create", chromedp.Click(css(`#webhook-form button[type=submit]`)), chromedp.WaitVisible(css("#secret")))
	secret := b.text(ctx, "#secret")
	if !strings.HasPrefix(secret, "whsec_") || !strings.Contains(b.text(ctx, ".secret"), "Shown once") {
		t.Fatalf("secret panel shows %q", secret)
	}
	b.shot(ctx, "03-secret-once")
	b.do(ctx, "back to the list", chromedp.Click(css("#secret-done")), chromedp.WaitVisible(css("#webhooks")))
	hookID := eval[string](b, ctx, `document.querySelector("#webhooks tbody tr").dataset.webhook`)
	if b.count(ctx, "#secret") != 0 || strings.Contains(b.text(ctx, "main"), secret) {
		t.Error("the secret is still on the page after leaving its panel")
	}
	if got := b.text(ctx, "#webhooks tbody tr .badge"); got != "Active" {
		t.Errorf("status = %q, want Active", got)
	}

	// Publish through the API; the delivery shows up in the logs.
	eventID := d.publish(t, "contact.created", `{"id": "c-portal", "email": "ada@example.com"}`)
	b.do(ctx, "open the logs", chromedp.Click(css("#webhooks button.logs")), chromedp.WaitVisible(css("#refresh-logs")))
	b.until(ctx, "the delivery in the logs", "#logs tr.log-entry .status-success", "#refresh-logs")
	b.shot(ctx, "04-delivery-logs")
	received := d.rc.got()
	if len(received) != 1 {
		t.Fatalf("the receiver got %d requests, want 1", len(received))
	}
	if err := signature.Verify(received[0].Header, received[0].Body, secret, 5*time.Minute, time.Now()); err != nil {
		t.Errorf("the delivery does not verify with the secret the portal showed: %v", err)
	}

	// The delivery: its payload as sent, its attempt; then retry it.
	b.do(ctx, "open the delivery", chromedp.Click(css("#logs button.open-delivery")), chromedp.WaitVisible(css("#payload")))
	payload := b.text(ctx, "#payload")
	for _, want := range []string{eventID, "c-portal", "ada@example.com", `"type": "contact.created"`} {
		if !strings.Contains(payload, want) {
			t.Errorf("payload lacks %s:\n%s", want, payload)
		}
	}
	if got := b.text(ctx, "section.attempt .attempt-status"); got != "200" {
		t.Errorf("attempt status = %q, want 200", got)
	}
	if !strings.Contains(b.text(ctx, "#headers"), received[0].Header.Get("X-LeadLex-Delivery-ID")) {
		t.Error("the header example does not name this delivery's id")
	}
	// The page's signature tool computes, over the payload the API shows,
	// exactly the signatures the receiver got bytes for.
	deliveryID := received[0].Header.Get("X-LeadLex-Delivery-ID")
	b.do(ctx, "compute signatures", chromedp.SetValue(css("#f-secret"), secret), chromedp.SetValue(css("#f-ts"), "1796000000"),
		chromedp.Click(css("#verify-form button[type=submit]")))
	b.until(ctx, "the computed signatures", "#computed-signatures:not(:empty)", "")
	std, err := signature.Standard(deliveryID, time.Unix(1796000000, 0), received[0].Body, secret)
	if err != nil {
		t.Fatal(err)
	}
	want := "X-LeadLex-Signature: " + signature.LeadLex(received[0].Body, secret) + "\nwebhook-signature: " + std
	if got := b.text(ctx, "#computed-signatures"); got != want {
		t.Errorf("the page computes\n%s\nwant\n%s", got, want)
	}
	b.shot(ctx, "05-delivery-detail")
	b.do(ctx, "retry", chromedp.Click(css("#retry-delivery")))
	b.until(ctx, "two attempts", `section.attempt[aria-label="Attempt 2"]`, "#refresh-delivery")
	if n := len(d.rc.got()); n != 2 || d.rc.distinct() != 1 {
		t.Errorf("after the retry the receiver got %d requests for %d deliveries, want 2 for 1", n, d.rc.distinct())
	}

	// A test event from the logs screen.
	b.do(ctx, "back to the logs", chromedp.Click(css("#back-to-logs")), chromedp.WaitVisible(css("#send-test")),
		chromedp.Click(css("#send-test")))
	b.until(ctx, "the test event's notice", "#notice.info", "")
	if got := b.text(ctx, "#notice"); !strings.Contains(got, "Test event sent: success") {
		t.Errorf("notice = %q", got)
	}

	// Rotate with a one-hour overlap: a new secret, shown once.
	b.do(ctx, "rotate", chromedp.Click(css(`#nav button[data-nav="webhooks"]`)), chromedp.WaitVisible(css("#webhooks button.rotate")),
		chromedp.Click(css("#webhooks button.rotate")), chromedp.WaitVisible(css("#rotate-form")),
		chromedp.SetValue(css("#f-overlap"), "3600"))
	b.shot(ctx, "06-rotate")
	b.do(ctx, "rotate", chromedp.Click(css("#rotate-form button[type=submit]")), chromedp.WaitVisible(css("#secret")))
	if rotated := b.text(ctx, "#secret"); !strings.HasPrefix(rotated, "whsec_") || rotated == secret {
		t.Errorf("rotated secret = %q (old %q)", rotated, secret)
	}
	if !strings.Contains(b.text(ctx, ".secret"), "previous secret keeps working until") {
		t.Errorf("the rotation does not say how long the previous secret lasts: %s", b.text(ctx, ".secret"))
	}
	b.shot(ctx, "07-rotated-secret")

	// Pause through the edit form.
	b.do(ctx, "pause", chromedp.Click(css("#secret-done")), chromedp.WaitVisible(css("#webhooks button.edit")),
		chromedp.Click(css("#webhooks button.edit")), chromedp.WaitVisible(css("#f-active")),
		chromedp.Click(css("#f-active")), chromedp.Click(css("#webhook-form button[type=submit]")),
		chromedp.WaitVisible(css("#webhooks .status-paused")))
	if r := d.g.do(req{method: "GET", path: "/v1/webhooks/" + hookID, key: d.admin.Key}); r.webhook()["active"] != false {
		t.Errorf("after pausing, the API shows %s", r.Raw)
	}
	b.shot(ctx, "08-paused")

	// The catalog and the signature guide.
	b.do(ctx, "catalog", chromedp.Click(css(`#nav button[data-nav="catalog"]`)), chromedp.WaitVisible(css("section.event")))
	if n := b.count(ctx, "section.event"); n != 28 {
		t.Errorf("the catalog shows %d event types, want 28", n)
	}
	b.shot(ctx, "09-event-catalog")
	b.do(ctx, "signatures", chromedp.Click(css(`#nav button[data-nav="verify"]`)), chromedp.WaitVisible(css("#view-title")))
	if !strings.Contains(b.text(ctx, "main"), "X-LeadLex-Signature") {
		t.Error("the signature guide does not name the header")
	}
	b.shot(ctx, "10-verify-signatures")

	// A phone's width: nothing wider than the screen.
	b.do(ctx, "phone", chromedp.EmulateViewport(390, 844), chromedp.Click(css(`#nav button[data-nav="webhooks"]`)),
		chromedp.WaitVisible(css("#webhooks")), chromedp.Sleep(200*time.Millisecond))
	if eval[bool](b, ctx, "document.documentElement.scrollWidth > window.innerWidth + 1") {
		t.Error("at 390 px the page scrolls sideways")
	}
	b.shot(ctx, "11-phone-width")
	b.do(ctx, "desktop again", chromedp.EmulateViewport(1280, 900))

	// Delete, after a confirmation.
	b.do(ctx, "delete", chromedp.Click(css("#webhooks button.delete")), chromedp.WaitVisible(css("#confirm-delete")))
	b.shot(ctx, "12-delete-confirmation")
	b.do(ctx, "confirm", chromedp.Click(css("#confirm-delete-button")), chromedp.WaitVisible(css("#no-webhooks")))
	if r := d.g.do(req{method: "GET", path: "/v1/webhooks/" + hookID, key: d.admin.Key}); r.Status != 404 {
		t.Errorf("after deleting, the API answers %d", r.Status)
	}
	b.checkPage()

	t.Run("read-only link", func(t *testing.T) {
		outer := b.t
		b.t = t
		defer func() { b.t = outer }()
		other := d.g.createHook(d.admin, hookBody("https://93.184.215.14/portal/read-only")) // never delivered to
		// As the auto-disable rule leaves a webhook whose deliveries all failed.
		if _, err := d.pool.Exec(context.Background(), `update webhooks set active = false, disabled_reason = $1 where id = $2`,
			"every delivery failed for 72h", other); err != nil {
			t.Fatal(err)
		}
		id, link := portalLink(t, d.g, d.admin, `{"mode": "read_only"}`)
		b.do(ctx, "open the read-only link", chromedp.Navigate("about:blank"), chromedp.Navigate(link), chromedp.WaitVisible(css("#webhooks")))
		if got := b.text(ctx, "#mode"); got != "Read-only" {
			t.Errorf("mode badge = %q", got)
		}
		for _, sel := range []string{"#new-webhook", "button.edit", "button.rotate", "button.delete"} {
			if n := b.count(ctx, sel); n != 0 {
				t.Errorf("a read-only link shows %s", sel)
			}
		}
		if got := b.text(ctx, "#webhooks .status-auto-disabled"); got != "Auto-disabled" {
			t.Errorf("status = %q, want Auto-disabled", got)
		}
		if got := b.text(ctx, "#webhooks .reason"); got != "every delivery failed for 72h" {
			t.Errorf("reason = %q", got)
		}
		b.shot(ctx, "13-read-only")
		b.do(ctx, "read-only logs", chromedp.Click(css("#webhooks button.logs")), chromedp.WaitVisible(css("#refresh-logs")))
		if b.count(ctx, "#send-test") != 0 {
			t.Error("a read-only link shows Send test event")
		}
		// The API refuses the link's key every write.
		k := key{Key: strings.TrimPrefix(link[strings.Index(link, "#k="):], "#k=")}
		for _, w := range []req{
			{method: "POST", path: "/v1/webhooks", body: hookBody("https://93.184.215.14/portal/x")},
			{method: "PATCH", path: "/v1/webhooks/" + other, body: `{"active": false}`},
			{method: "DELETE", path: "/v1/webhooks/" + other},
			{method: "POST", path: "/v1/webhooks/" + other + "/rotate-secret"},
			{method: "POST", path: "/v1/webhooks/" + other + "/test"},
			{method: "POST", path: "/v1/portal-sessions"},
		} {
			w.key = k.Key
			if r := d.g.do(w); r.Status != 403 || r.errCode() != "insufficient_permissions" {
				t.Errorf("%s %s with a read-only link's key: %d %s", w.method, w.path, r.Status, r.Raw)
			}
		}
		// Revoked: the page says so instead of breaking.
		if r := d.g.do(req{method: "DELETE", path: "/v1/portal-sessions/" + id, key: d.admin.Key}); r.Status != 200 {
			t.Fatalf("revoke: %d %s", r.Status, r.Raw)
		}
		b.do(ctx, "reload the revoked link", chromedp.Reload(), chromedp.WaitVisible(css("#link-gone")))
		if got := b.text(ctx, "#gone-title"); got != "This portal link was revoked." {
			t.Errorf("revoked page title = %q", got)
		}
		b.shot(ctx, "14-revoked-link")
	})

	t.Run("expired link", func(t *testing.T) {
		outer := b.t
		b.t = t
		defer func() { b.t = outer }()
		// A parent key that expires in a few seconds caps its link's key.
		expires := time.Now().Add(4 * time.Second).Truncate(time.Second)
		parent := d.createKey(workspaceA, "webhooks:write", "--tier", "unmetered", "--expires-at", expires.UTC().Format(time.RFC3339))
		_, link := portalLink(t, d.g, parent, "")
		time.Sleep(time.Until(expires) + 500*time.Millisecond)
		b.do(ctx, "open the expired link", chromedp.Navigate("about:blank"), chromedp.Navigate(link), chromedp.WaitVisible(css("#link-gone")))
		if got := b.text(ctx, "#gone-title"); got != "This portal link has expired." {
			t.Errorf("expired page title = %q", got)
		}
		b.shot(ctx, "15-expired-link")
	})

	t.Run("rate limited", func(t *testing.T) {
		outer := b.t
		b.t = t
		defer func() { b.t = outer }()
		// starter allows 10 requests a minute per key: the page's own
		// requests run into it, and it says when to retry.
		parent := d.createKey(workspaceA, "webhooks:write", "--plan", "starter", "--tier", "standard")
		_, link := portalLink(t, d.g, parent, "")
		b.do(ctx, "open", chromedp.Navigate("about:blank"), chromedp.Navigate(link), chromedp.WaitVisible(css(`#nav button[data-nav="webhooks"]`)))
		for i := 0; i < 15 && b.count(ctx, "#notice .retry") == 0; i++ {
			b.do(ctx, "reload the list", chromedp.Click(css(`#nav button[data-nav="webhooks"]`)), chromedp.Sleep(150*time.Millisecond))
		}
		msg := b.text(ctx, "#notice")
		if !strings.Contains(msg, "try again in") || !strings.Contains(msg, "request ID") || !strings.Contains(msg, "rate_limited") {
			t.Errorf("rate-limited notice = %q, want when to retry, the code and the request ID", msg)
		}
		b.shot(ctx, "16-rate-limited")
	})
	b.checkPage()
}

// TestPortalLinkPrintedByMakeRun starts the binary as `make run` does and
// checks the portal link it prints beside the development key: the page on
// this gateway, a read-write key in the fragment that the API accepts.
func TestPortalLinkPrintedByMakeRun(t *testing.T) {
	e := newEnv(t)
	g := e.start(map[string]string{
		"GATEWAY_ENV": "development", "DEV_PRINT_KEY": "true", "DEV_SINK": "true",
		"DATABASE_URL": "", "SUPABASE_URL": "", "REDIS_URL": "",
		"SECRET_ENCRYPTION_KEY": "", "REDIS_KEY_PREFIX": "", "DEV_SINK_ADDR": "127.0.0.1:" + freePort(t),
	})
	_, rest, ok := strings.Cut(g.Logs(), "Webhook portal (read-write")
	if !ok {
		t.Fatalf("no portal link printed:\n%s", g.Logs())
	}
	var link string
	for _, f := range strings.Fields(rest) {
		if strings.HasPrefix(f, "http://") {
			link = f
			break
		}
	}
	port := strings.TrimPrefix(g.url, "http://127.0.0.1:")
	if !strings.HasPrefix(link, "http://localhost:"+port+base+"/portal/#k=wbk_") {
		t.Fatalf("printed link %q is not this gateway's portal with a key in the fragment", link)
	}
	r := g.do(req{method: "GET", path: "/v1/portal-sessions/current", key: link[strings.Index(link, "#k=")+3:]})
	if r.Status != 200 || r.data()["portal_session"].(map[string]any)["mode"] != "read_write" {
		t.Errorf("the printed link's key: %d %s", r.Status, r.Raw)
	}
	page, err := http.Get(g.url + base + "/portal/")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	if page.StatusCode != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Errorf("the page: %d %s", page.StatusCode, page.Header.Get("Content-Type"))
	}
}
