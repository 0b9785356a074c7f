package routes

import "time"

// Timestamp renders a time as the contract wants it in every answer
// (api-contract §1): RFC 3339, in UTC, to the second (a fraction is dropped,
// never rounded up).
func Timestamp(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// TimestampPtr is Timestamp for optional times: nil stays nil (JSON null).
func TimestampPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := Timestamp(*t)
	return &s
}
