package storetest

// The assertions every suite shares: field-by-field comparison and the rule
// that stores return times as the same instant, in UTC (the API renders them
// as they come).

import (
	"testing"
	"time"
)

// Field is one compared field: its name and the two values.
type Field struct {
	Name      string
	Got, Want any
}

// F makes a Field.
func F(name string, got, want any) Field { return Field{Name: name, Got: got, Want: want} }

// Fields reports every field whose values differ.
func Fields(t testing.TB, fields []Field) {
	t.Helper()
	for _, f := range fields {
		if f.Got != f.Want {
			t.Errorf("%s = %v, want %v", f.Name, f.Got, f.Want)
		}
	}
}

// PtrField reports an optional field that is set on one side only, or set
// to different values.
func PtrField[T comparable](t testing.TB, field string, got, want *T) {
	t.Helper()
	switch {
	case (got == nil) != (want == nil):
		t.Errorf("%s = %v, want %v", field, got, want)
	case got != nil && *got != *want:
		t.Errorf("%s = %v, want %v", field, *got, *want)
	}
}

// UTCTime checks that got is the instant want and is in UTC.
func UTCTime(t testing.TB, field string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", field, got, want)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", field, got.Location())
	}
}

// UTCTimePtr is UTCTime for optional times: both nil, or both set and equal.
func UTCTimePtr(t testing.TB, field string, got, want *time.Time) {
	t.Helper()
	switch {
	case (got == nil) != (want == nil):
		t.Errorf("%s = %v, want %v", field, got, want)
	case got != nil:
		UTCTime(t, field, *got, *want)
	}
}
