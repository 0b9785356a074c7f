package gateway

// Page is page-number pagination as the contract describes it.
type Page struct {
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
}

// Offset is the index of the page's first item.
func (p Page) Offset() int { return (p.Page - 1) * p.PerPage }

// Meta is the "meta" object of a paginated list.
type Meta struct {
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Total   int `json:"total"`
}

// MaxPerPage is the largest page the API serves.
const MaxPerPage = 100
