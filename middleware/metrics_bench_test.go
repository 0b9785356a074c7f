package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/leadlex/api-gateway/gateway/metrics"
)

// BenchmarkMetrics measures what the metrics middleware adds to a request
// that does nothing else: run with -bench Metrics and compare the two.
func BenchmarkMetrics(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			e := echo.New()
			if on {
				e.Use(Metrics(metrics.New(), "/base"))
			}
			e.GET("/base/v1/webhooks/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
			req := httptest.NewRequest(http.MethodGet, "/base/v1/webhooks/1", nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := httptest.NewRecorder()
				for pb.Next() {
					e.ServeHTTP(w, req)
				}
			})
		})
	}
}
