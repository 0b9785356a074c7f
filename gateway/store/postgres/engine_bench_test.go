package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/leadlex/api-gateway/gateway/delivery"
	"github.com/leadlex/api-gateway/internal/testdb"
)

// BenchmarkClaimDue measures the engine's two hot statements on a
// 100,000-row backlog spread over 1, 100 or 1,000 webhooks: a ClaimDue of
// 100 (claim-ms/op) and the RecordAttempts of those 100 outcomes, all
// successes, in one batch (record-ms/op). Each iteration takes 100 rows out
// of the backlog, so runs of a few hundred iterations (-benchtime=200x)
// keep it near 100,000. Run it with:
//
//	go test -run '^$' -bench BenchmarkClaimDue -benchtime=200x ./gateway/store/postgres/
func BenchmarkClaimDue(b *testing.B) {
	const backlog, batch = 100_000, 100
	for _, hooks := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("webhooks=%d", hooks), func(b *testing.B) {
			pool, _ := testdb.New(b)
			s := New(pool)
			at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			seedBacklog(b, s, hooks, backlog/hooks, at)
			now := at.Add(time.Hour)
			worker := uuid.NewString()
			c := context.Background()
			code := 200
			var claimTime, recordTime time.Duration
			claimed := 0
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				claims, err := s.ClaimDue(c, delivery.ClaimParams{Worker: worker, Now: now, Lease: time.Minute,
					Limit: batch, InitialLimit: batch, MaxLimit: batch})
				if err != nil {
					b.Fatal(err)
				}
				claimTime += time.Since(start)
				claimed += len(claims)
				outcomes := make([]delivery.Outcome, len(claims))
				for i, cl := range claims {
					outcomes[i] = delivery.Outcome{Attempt: delivery.Attempt{
						ID: uuid.NewString(), DeliveryID: cl.Delivery.ID, WebhookID: cl.Delivery.WebhookID,
						WorkspaceID: cl.Delivery.WorkspaceID, Attempt: cl.Delivery.Attempts,
						Status: delivery.StatusSuccess, ResponseStatusCode: &code, DurationMS: 3, DeliveredAt: now,
					}, DisableAfter: 72 * time.Hour}
				}
				start = time.Now()
				results, err := s.RecordAttempts(c, outcomes, nil)
				if err != nil {
					b.Fatal(err)
				}
				recordTime += time.Since(start)
				for _, r := range results {
					if r != nil {
						b.Fatal(r)
					}
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(claimTime.Microseconds())/1000/n, "claim-ms/op")
			b.ReportMetric(float64(recordTime.Microseconds())/1000/n, "record-ms/op")
			b.ReportMetric(float64(claimed)/n, "claimed/op")
		})
	}
}
