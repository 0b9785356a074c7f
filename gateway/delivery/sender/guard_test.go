package sender_test

import (
	"context"
	"net/http"
	"net/netip"
	"sync"
	"testing"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/gateway/delivery/sender"
)

// violations records what a sender's guard reported.
type violations struct {
	mu   sync.Mutex
	list []string
}

func (v *violations) add(a string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.list = append(v.list, a)
}

func (v *violations) got() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.list...)
}

func TestExclusiveGuard(t *testing.T) {
	r := newReceiver(t, status(200, nil, ""), nil)
	receiverAddr := netip.MustParseAddrPort(r.Listener.Addr().String())
	other := netip.MustParseAddrPort(closedPort(t))
	tests := []struct {
		name     string
		opts     sender.Options
		url      string
		class    string
		reported []string
	}{
		// The test that must trip: a public address, refused before
		// connect(2) and reported.
		{name: "public address refused and reported", opts: sender.Options{Exclusive: true, AllowCIDRs: loopback},
			url: "https://93.184.215.14/hook", class: delivery.ErrClassBlocked, reported: []string{"93.184.215.14:443"}},
		{name: "public IPv6 refused and reported", opts: sender.Options{Exclusive: true, AllowCIDRs: loopback},
			url: "https://[2606:2800:220:1::1]:8443/hook", class: delivery.ErrClassBlocked, reported: []string{"[2606:2800:220:1::1]:8443"}},
		{name: "allowed range reached", opts: sender.Options{Exclusive: true, AllowCIDRs: loopback},
			url: r.URL + "/hook"},
		// A non-public address is refused by the policy anyway: nothing
		// would have been sent, so there is nothing to report.
		{name: "private address refused, not reported", opts: sender.Options{Exclusive: true, AllowCIDRs: loopback},
			url: "https://10.0.0.1/hook", class: delivery.ErrClassBlocked},
		{name: "exact address reached", opts: sender.Options{Exclusive: true, AllowAddrs: []netip.AddrPort{receiverAddr}},
			url: r.URL + "/hook"},
		{name: "exact address: another port refused", opts: sender.Options{AllowAddrs: []netip.AddrPort{receiverAddr}},
			url: "https://" + other.String() + "/hook", class: delivery.ErrClassBlocked},
		{name: "exact address without exclusive: loopback elsewhere refused", opts: sender.Options{AllowAddrs: []netip.AddrPort{other}},
			url: r.URL + "/hook", class: delivery.ErrClassBlocked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v violations
			tc.opts.RootCAs = r.pool()
			tc.opts.OnGuardViolation = v.add
			res := sender.New(tc.opts).Send(context.Background(), tc.url, http.Header{}, []byte(`{}`))
			if res.ErrClass != tc.class {
				t.Errorf("ErrClass = %q, want %q", res.ErrClass, tc.class)
			}
			if got := v.got(); len(got) != len(tc.reported) || (len(got) > 0 && got[0] != tc.reported[0]) {
				t.Errorf("reported %q, want %q", got, tc.reported)
			}
		})
	}
}

// Without Exclusive the production policy is unchanged and the guard is
// silent: loopback is refused as not public, and nothing is reported.
func TestGuardOffReportsNothing(t *testing.T) {
	var v violations
	r := newReceiver(t, status(200, nil, ""), nil)
	res := sender.New(sender.Options{RootCAs: r.pool(), OnGuardViolation: v.add}).Send(context.Background(), r.URL, nil, nil)
	if res.ErrClass != delivery.ErrClassBlocked || len(v.got()) != 0 {
		t.Errorf("loopback without allowances: %q, reported %q; want blocked_address and no report", res.ErrClass, v.got())
	}
}
