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

// BenchmarkClaimDue measures the engine's two hot statements: a ClaimDue of
// 64 (claim-ms/op) and the RecordAttempts of those outcomes in one batch
// (record-ms/op), on a backlog of 20,000 rows of one webhook, 20,000 rows
// over 1,000 webhooks and 100,000 rows over 1,000 webhooks. The outcomes
// are successes, so each iteration takes 64 rows out of the backlog, except
// in the churn cases: there every outcome is a failure retried at once, so
// the same rows are claimed and recorded again and again and dead row
// versions pile up in the table and its partial indexes as they do in a
// busy queue between two vacuums. The 20,000-row backlogs without churn
// are drained after 312 iterations, so keep -benchtime under 300x (claimed/op
// shows 64 while the numbers are of full batches). Run it with:
//
//	go test -run '^$' -bench BenchmarkClaimDue -benchtime=200x ./gateway/store/postgres/
func BenchmarkClaimDue(b *testing.B) {
	const batch = 64
	for _, tc := range []struct {
		hooks, backlog int
		churn          bool
	}{
		{hooks: 1, backlog: 20_000},
		{hooks: 1000, backlog: 20_000},
		{hooks: 1000, backlog: 100_000},
		{hooks: 1, backlog: 20_000, churn: true},
		{hooks: 1000, backlog: 20_000, churn: true},
	} {
		name := fmt.Sprintf("backlog=%d/webhooks=%d", tc.backlog, tc.hooks)
		if tc.churn {
			name += "/churn"
		}
		b.Run(name, func(b *testing.B) {
			pool, _ := testdb.New(b)
			s := New(pool)
			at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			seedBacklog(b, s, tc.hooks, tc.backlog/tc.hooks, at)
			now := at.Add(time.Hour)
			worker := uuid.NewString()
			c := context.Background()
			code := 200
			errClass := "http_error"
			var claimTime, recordTime time.Duration
			claimed := 0
			b.ResetTimer()
			for b.Loop() {
				now = now.Add(time.Millisecond)
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
					o := delivery.Outcome{Attempt: delivery.Attempt{
						ID: uuid.NewString(), DeliveryID: cl.Delivery.ID, WebhookID: cl.Delivery.WebhookID,
						WorkspaceID: cl.Delivery.WorkspaceID, Attempt: cl.Delivery.Attempts,
						Status: delivery.StatusSuccess, ResponseStatusCode: &code, DurationMS: 3, DeliveredAt: now,
					}, DisableAfter: 72 * time.Hour}
					if tc.churn {
						next := now
						o.Attempt.Status = delivery.StatusFailed
						o.Attempt.Error = &errClass
						o.NextAttemptAt = &next
					}
					outcomes[i] = o
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
