package delivery

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowNotifier counts its calls and blocks each until released, so that the
// test controls when a send ends.
type slowNotifier struct {
	calls   atomic.Int32
	release chan struct{}
}

func (s *slowNotifier) Notify(context.Context) {
	s.calls.Add(1)
	<-s.release
}

func TestCoalesce(t *testing.T) {
	t.Run("a burst during a send costs one more send", func(t *testing.T) {
		n := &slowNotifier{release: make(chan struct{})}
		c := Coalesce(n)
		c.Notify(context.Background())
		waitCalls(t, n, 1)
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() { c.Notify(context.Background()) }) // none of them may block
		}
		wg.Wait()
		n.release <- struct{}{} // the first send ends; the burst's one begins
		waitCalls(t, n, 2)
		n.release <- struct{}{}
		time.Sleep(20 * time.Millisecond)
		if got := n.calls.Load(); got != 2 {
			t.Errorf("%d sends for a burst of 100 during one send, want 2 in all", got)
		}
	})
	t.Run("a notify after the sender ended sends again", func(t *testing.T) {
		n := &slowNotifier{release: make(chan struct{}, 10)}
		c := Coalesce(n)
		for i := range 3 {
			n.release <- struct{}{}
			c.Notify(context.Background())
			waitCalls(t, n, int32(i+1))
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("a cancelled request still wakes", func(t *testing.T) {
		n := &slowNotifier{release: make(chan struct{}, 1)}
		n.release <- struct{}{}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		Coalesce(n).Notify(ctx)
		waitCalls(t, n, 1)
	})
}

// waitCalls waits until n has been called want times.
func waitCalls(t *testing.T, n *slowNotifier, want int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for n.calls.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d sends, want %d", n.calls.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}
