package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadlex/api-gateway/gateway/signature"
	"github.com/leadlex/api-gateway/internal/testreceiver"
)

const (
	// hookPath starts the path of every webhook URL on the receiver; the
	// webhook's index follows it.
	hookPath = "/hook/"
	// signatureTolerance is how far a delivery's signed timestamp may be
	// from the receiver's clock, as the signature package suggests.
	signatureTolerance = 5 * time.Minute
	// maxReceiverBody bounds what the receiver reads of one delivery.
	maxReceiverBody = 1 << 20
)

// receipt is the first valid arrival of one delivery.
type receipt struct {
	event string // the "id" of the delivered payload: the event's id
	hook  int    // which webhook's URL it came to
	at    time.Time
	// ok reports that the receiver has answered this delivery ID 2xx, so
	// that any later arrival of it is a duplicate, not a retry.
	ok bool
}

// hookMode is how the receiver answers the valid deliveries of one webhook.
type hookMode int

const (
	// modeHealthy answers 200 at once.
	modeHealthy hookMode = iota
	// modeHang holds the request for hangFor (longer than the sender's
	// timeout), or until the receiver is released, then answers 500.
	modeHang
	// modeFail answers 500 at once, to every attempt.
	modeFail
)

// hangFor is how long a hanging webhook holds each request.
const hangFor = 12 * time.Second

// String names the mode as the report does.
func (m hookMode) String() string {
	switch m {
	case modeHang:
		return "hangs " + hangFor.String()
	case modeFail:
		return "answers 500"
	default:
		return "healthy"
	}
}

// receiver is the delivery phase's check on the shared local HTTPS receiver
// (internal/testreceiver, which the end-to-end tests deliver to as well). It
// answers 200 to a delivery whose signature is valid for its webhook's
// secret (both schemes) and whose payload names an event, and 401 or 400
// otherwise, as a real receiver would; it keeps the first arrival of each
// delivery ID and counts the rest.
type receiver struct {
	core *testreceiver.Receiver

	mu sync.Mutex
	// secrets are the webhooks' signing secrets, by index, and modes how
	// each webhook answers (healthy when missing).
	secrets []string
	modes   []hookMode
	// release ends every hang at once, so that the receiver and the
	// worker stop without waiting the hangs out.
	release     chan struct{}
	releaseOnce sync.Once
	// hookFirst and hookHits count, by webhook, the distinct deliveries
	// that arrived valid and every hit.
	hookFirst map[int]int
	hookHits  map[int]int64
	first     map[string]receipt
	hits      int64
	// repeats are valid hits for a delivery ID seen before; duplicates
	// are those of them that came after the ID had been answered 2xx.
	repeats, duplicates int64
	// badSignatures are hits whose signature did not verify; malformed
	// ones had another fault (path, method, payload, or a delivery ID
	// reused for another event or webhook).
	badSignatures, malformed int64
	samples                  []string
}

// startReceiver starts the receiver on a new loopback listener, speaking
// HTTP/2 when asked to and HTTP/1.1 otherwise, until close. The first lines
// its HTTP server logs are copied to stderr.
func startReceiver(http2 bool, stderr io.Writer) (*receiver, error) {
	rc := &receiver{first: map[string]receipt{}, release: make(chan struct{}), hookFirst: map[int]int{}, hookHits: map[int]int64{}}
	core, err := testreceiver.Start(testreceiver.Options{
		HTTP2:    http2,
		MaxBody:  maxReceiverBody,
		Answer:   rc.answer,
		ErrorLog: &firstLines{w: stderr, prefix: "loadbench: receiver: ", max: maxAlerts},
	})
	if err != nil {
		return nil, err
	}
	rc.core = core
	return rc, nil
}

// close stops the receiver, ending any hang first.
func (rc *receiver) close() {
	rc.releaseHangs()
	rc.core.Close()
}

// releaseHangs makes every held and future request of a hanging webhook
// answer at once.
func (rc *receiver) releaseHangs() { rc.releaseOnce.Do(func() { close(rc.release) }) }

// setModes tells the receiver how each webhook answers, by index, before
// any delivery is made; webhooks past the end of modes are healthy.
func (rc *receiver) setModes(modes []hookMode) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.modes = slices.Clone(modes)
}

// hookURL is webhook i's URL: an IP literal, so that no DNS is involved.
func (rc *receiver) hookURL(i int) string { return rc.core.URL(hookPath + strconv.Itoa(i)) }

// setSecrets tells the receiver the webhooks' secrets, by index, before any
// delivery is made.
func (rc *receiver) setSecrets(secrets []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets = slices.Clone(secrets)
}

// writeCA writes the receiver's certificate as PEM to a new temporary file
// (DELIVERY_CA_FILE) and returns its path; the caller removes it.
func (rc *receiver) writeCA() (string, error) { return rc.core.WriteCA("") }

// answer checks one delivery and replies to it.
func (rc *receiver) answer(w http.ResponseWriter, r *http.Request, got *testreceiver.Request) {
	id := got.Header.Get(signature.HeaderDeliveryID)
	hook, secret, mode := rc.hook(got.Path)

	var payload struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	var problem string
	badSignature := false
	switch {
	case got.Err != nil:
		problem = "read the body: " + got.Err.Error()
	case got.Method != http.MethodPost:
		problem = "method " + got.Method
	case hook < 0:
		problem = "no webhook at " + got.Path
	case id == "":
		problem = "no " + signature.HeaderDeliveryID + " header"
	default:
		if err := signature.Verify(got.Header, got.Body, secret, signatureTolerance, got.At); err != nil {
			problem, badSignature = "bad signature: "+err.Error(), true
		} else if err := json.Unmarshal(got.Body, &payload); err != nil || payload.ID == "" || payload.Type != deliveryEventType {
			problem = fmt.Sprintf("payload without an event id or of another type: %.120s", got.Body)
		}
	}

	rc.mu.Lock()
	rc.hits++
	rc.hookHits[hook]++
	if problem == "" {
		healthy := mode == modeHealthy
		if prev, seen := rc.first[id]; !seen {
			rc.first[id] = receipt{event: payload.ID, hook: hook, at: got.At, ok: healthy}
			rc.hookFirst[hook]++
		} else if prev.event != payload.ID || prev.hook != hook {
			problem = "delivery ID " + id + " came before for another event or webhook"
		} else {
			rc.repeats++
			if prev.ok {
				rc.duplicates++
			}
			if healthy && !prev.ok {
				prev.ok = true
				rc.first[id] = prev
			}
		}
	}
	if problem != "" {
		if badSignature {
			rc.badSignatures++
		} else {
			rc.malformed++
		}
		if len(rc.samples) < maxSamples {
			rc.samples = append(rc.samples, problem)
		}
	}
	rc.mu.Unlock()

	switch {
	case badSignature:
		http.Error(w, "bad signature", http.StatusUnauthorized)
	case problem != "":
		http.Error(w, "bad delivery", http.StatusBadRequest)
	case mode == modeHang:
		t := time.NewTimer(hangFor)
		defer t.Stop()
		select {
		case <-t.C:
		case <-rc.release:
		case <-r.Context().Done():
		}
		http.Error(w, "hung", http.StatusInternalServerError)
	case mode == modeFail:
		http.Error(w, "failing on purpose", http.StatusInternalServerError)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"received":true}`)
	}
}

// hook returns the index, secret and mode of the webhook whose URL path is
// path, or -1 when there is none.
func (rc *receiver) hook(path string) (int, string, hookMode) {
	s, ok := strings.CutPrefix(path, hookPath)
	if !ok {
		return -1, "", modeHealthy
	}
	i, err := strconv.Atoi(s)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil || i < 0 || i >= len(rc.secrets) {
		return -1, "", modeHealthy
	}
	mode := modeHealthy
	if i < len(rc.modes) {
		mode = rc.modes[i]
	}
	return i, rc.secrets[i], mode
}

// delivered returns how many distinct deliveries have arrived valid.
func (rc *receiver) delivered() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.first)
}

// deliveredTo returns how many distinct deliveries have arrived valid at
// the webhooks for which pick is true.
func (rc *receiver) deliveredTo(pick func(hook int) bool) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for hook, c := range rc.hookFirst {
		if pick(hook) {
			n += c
		}
	}
	return n
}

// connections counts the connections the gateway's sender opened: one per
// delivery would mean a TLS handshake per delivery.
func (rc *receiver) connections() int64 { return rc.core.Connections() }

// receiverStats is a copy of what the receiver saw.
type receiverStats struct {
	first                                               map[string]receipt
	hits, repeats, duplicates, badSignatures, malformed int64
	samples                                             []string
	serverErrors, connections                           int64
	// hookHits counts every hit by webhook (-1: no webhook).
	hookHits map[int]int64
}

// stats returns a copy of what the receiver has seen so far.
func (rc *receiver) stats() receiverStats {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return receiverStats{
		first: maps.Clone(rc.first),
		hits:  rc.hits, repeats: rc.repeats, duplicates: rc.duplicates, badSignatures: rc.badSignatures, malformed: rc.malformed,
		samples:      slices.Clone(rc.samples),
		hookHits:     maps.Clone(rc.hookHits),
		serverErrors: rc.core.ServerErrors(),
		connections:  rc.core.Connections(),
	}
}

// firstLines copies the first max lines a log writes to it to w, each after
// prefix, and drops the rest (the receiver counts them all).
type firstLines struct {
	w      io.Writer
	prefix string
	max    int64
	lines  atomic.Int64
}

// Write implements io.Writer; a log.Logger writes one line per call.
func (c *firstLines) Write(p []byte) (int, error) {
	if c.lines.Add(1) <= c.max {
		_, _ = fmt.Fprintf(c.w, "%s%s", c.prefix, p)
	}
	return len(p), nil
}
