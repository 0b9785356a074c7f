package e2e

import (
	"testing"
	"time"

	"github.com/leadlex/api-gateway/gateway/signature"
)

// TestConcurrentRotationsHandOutNoDeadSecret: 20 parallel rotate-secret
// calls with expire_previous_in_seconds 3600 on the real binary and
// PostgreSQL. Overlapping rotations are refused: each call is a 200 or a
// 409 rotation_in_progress, and every secret a 200 returned, as well as the
// original one (within the overlap), verifies the next delivery. Before,
// all 20 answered 200, only the last two secrets were kept and the original
// stopped working at once.
func TestConcurrentRotationsHandOutNoDeadSecret(t *testing.T) {
	d := newDeliveryEnv(t, 1, nil)
	hookID, original := d.hook(t, "/rotating", "contact.created")

	const n = 20
	replies := concurrently(n, func(int) reply {
		return d.g.do(req{method: "POST", path: "/v1/webhooks/" + hookID + "/rotate-secret", key: d.admin.Key,
			body: `{"expire_previous_in_seconds": 3600}`})
	})
	var issued []string
	conflicts := 0
	for i, r := range replies {
		switch {
		case r.Status == 200:
			issued = append(issued, r.webhook()["secret"].(string))
		case r.Status == 409 && r.errCode() == "rotation_in_progress":
			conflicts++
		default:
			t.Errorf("rotation %d: %d %s", i, r.Status, r.Raw)
		}
	}
	t.Logf("%d rotations applied, %d refused as overlapping", len(issued), conflicts)
	if len(issued) == 0 {
		t.Fatal("no rotation succeeded")
	}
	if len(issued)+conflicts != n {
		t.Fatalf("%d successes + %d conflicts != %d", len(issued), conflicts, n)
	}

	d.publish(t, "contact.created", `{"id": "c-rot"}`)
	waitFor(t, 20*time.Second, "the delivery", func() bool { return len(d.rc.got()) == 1 })
	got := d.rc.got()[0]
	for i, s := range append([]string{original}, issued...) {
		if err := signature.Verify(got.Header, got.Body, s, 5*time.Minute, time.Now()); err != nil {
			t.Errorf("secret %d (0 = original) does not verify the delivery: %v", i, err)
		}
	}
	// During the overlap a further rotation is refused too, unless it ends
	// every earlier secret now (the refusals left no lock behind).
	if r := d.g.do(req{method: "POST", path: "/v1/webhooks/" + hookID + "/rotate-secret", key: d.admin.Key}); r.Status != 409 || r.errCode() != "rotation_in_progress" {
		t.Errorf("rotation during the overlap: %d %s", r.Status, r.Raw)
	}
	if r := d.g.do(req{method: "POST", path: "/v1/webhooks/" + hookID + "/rotate-secret", key: d.admin.Key, body: `{"expire_previous_in_seconds": 0}`}); r.Status != 200 {
		t.Errorf("rotation ending the overlap: %d %s", r.Status, r.Raw)
	}
}
