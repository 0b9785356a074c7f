package catalog

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// contractOrder is api-contract §5 transcribed independently of events, so
// that an accidental edit of the catalog is caught here.
var contractOrder = []string{
	"contact.created", "contact.updated", "contact.deleted", "contact.bulk_created", "contact.merged",
	"company.created", "company.updated", "company.deleted",
	"deal.created", "deal.updated", "deal.deleted", "deal.bulk_created", "deal.bulk_updated",
	"list.created", "list.deleted", "list.contacts_added", "list.contacts_removed",
	"campaign.created", "campaign.started", "campaign.paused", "campaign.deleted", "campaign.step_created", "campaign.contacts_added",
	"activity.created", "task.created", "task.updated", "task.approved", "task.dismissed",
}

var typePattern = regexp.MustCompile(`^[a-z]+(_[a-z]+)*\.[a-z]+(_[a-z]+)*$`)

func TestAllMatchesContract(t *testing.T) {
	all := All()
	if len(all) != 28 || Count != 28 {
		t.Fatalf("len(All()) = %d, Count = %d, want 28", len(all), Count)
	}
	got := make([]string, len(all))
	for i, e := range all {
		got[i] = e.Type
	}
	if !slices.Equal(got, contractOrder) {
		t.Fatalf("All() order = %v\nwant %v", got, contractOrder)
	}
}

func TestAllIsACopy(t *testing.T) {
	a := All()
	a[0].Type = "mutated"
	if All()[0].Type != "contact.created" {
		t.Fatal("modifying the result of All changed the catalog")
	}
	c := Categories()
	c[0] = "mutated"
	if Categories()[0] != "contact" {
		t.Fatal("modifying the result of Categories changed the catalog")
	}
}

func TestEventsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range All() {
		t.Run(e.Type, func(t *testing.T) {
			if seen[e.Type] {
				t.Errorf("duplicate type %q", e.Type)
			}
			seen[e.Type] = true
			if !typePattern.MatchString(e.Type) {
				t.Errorf("type %q is not category.action in lowercase snake case", e.Type)
			}
			cat, _, _ := strings.Cut(e.Type, ".")
			if e.Category != cat {
				t.Errorf("category = %q, want %q", e.Category, cat)
			}
			if !slices.Contains(Categories(), e.Category) {
				t.Errorf("category %q missing from Categories()", e.Category)
			}
			d := e.Description
			if d == "" || !strings.HasSuffix(d, ".") || strings.ToUpper(d[:1]) != d[:1] {
				t.Errorf("description %q is not one capitalised sentence", d)
			}
			if strings.Count(d, ". ") > 0 {
				t.Errorf("description %q has more than one sentence", d)
			}
		})
	}
}

func TestCategories(t *testing.T) {
	want := []string{"contact", "company", "deal", "list", "campaign", "activity", "task"}
	if got := Categories(); !slices.Equal(got, want) {
		t.Fatalf("Categories() = %v, want %v", got, want)
	}
	total := 0
	for _, c := range want {
		n := len(InCategory(c))
		if n == 0 {
			t.Errorf("category %q has no events", c)
		}
		total += n
	}
	if total != 28 {
		t.Errorf("events across categories = %d, want 28", total)
	}
	if got := InCategory("nope"); got == nil || len(got) != 0 {
		t.Errorf("InCategory(unknown) = %#v, want empty non-nil slice", got)
	}
	if got := InCategory("activity"); len(got) != 1 || got[0].Type != "activity.created" {
		t.Errorf("InCategory(activity) = %v", got)
	}
}

func TestLookup(t *testing.T) {
	for _, e := range All() {
		got, ok := Lookup(e.Type)
		if !ok || got != e {
			t.Errorf("Lookup(%q) = %v, %v; want %v, true", e.Type, got, ok, e)
		}
	}
	for _, name := range []string{"", "contact", "Contact.Created", "contact.created ", "contact.*", "task.deleted", ".created"} {
		t.Run("unknown/"+name, func(t *testing.T) {
			if e, ok := Lookup(name); ok {
				t.Errorf("Lookup(%q) = %v, true; want not found", name, e)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name       string
		in         []string
		unknown    []string
		duplicates []string
	}{
		{"nil", nil, nil, nil},
		{"empty", []string{}, nil, nil},
		{"all known", []string{"contact.created", "deal.updated", "task.dismissed"}, nil, nil},
		{"whole catalog", contractOrder, nil, nil},
		{"one unknown", []string{"contact.created", "contact.exploded"}, []string{"contact.exploded"}, nil},
		{"unknown keeps input order", []string{"z.z", "contact.created", "a.a"}, []string{"z.z", "a.a"}, nil},
		{"unknown deduplicated", []string{"x.y", "x.y", "x.y"}, []string{"x.y"}, []string{"x.y"}},
		{"case matters", []string{"Contact.Created"}, []string{"Contact.Created"}, nil},
		{"empty string", []string{""}, []string{""}, nil},
		{"duplicate known", []string{"deal.created", "task.created", "deal.created"}, nil, []string{"deal.created"}},
		{"duplicate reported once", []string{"deal.created", "deal.created", "deal.created"}, nil, []string{"deal.created"}},
		{"duplicates in order of repetition", []string{"a.b", "deal.created", "deal.created", "a.b"}, []string{"a.b"}, []string{"deal.created", "a.b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unknown, duplicates := Validate(tt.in)
			if !slices.Equal(unknown, tt.unknown) {
				t.Errorf("unknown = %q, want %q", unknown, tt.unknown)
			}
			if !slices.Equal(duplicates, tt.duplicates) {
				t.Errorf("duplicates = %q, want %q", duplicates, tt.duplicates)
			}
		})
	}
}
