package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/leadlex/api-gateway/gateway"
	"github.com/leadlex/api-gateway/gateway/plan"
	"golang.org/x/sync/singleflight"
)

// Key format: "wbk_" + 52 characters from [a-z0-9]. 52 × log2(36) ≈ 268 bits.
const (
	keyPrefix   = "wbk_"
	keyBodyLen  = 52
	keyAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	// displayLen is how much of a key listings show: the prefix and six
	// characters, enough to tell keys apart, far too little to guess the rest.
	displayLen = len(keyPrefix) + 6
)

// Generate returns a new plaintext API key from crypto/rand, each character
// drawn uniformly (no modulo bias).
func Generate() (string, error) {
	var b strings.Builder
	b.Grow(len(keyPrefix) + keyBodyLen)
	b.WriteString(keyPrefix)
	max := big.NewInt(int64(len(keyAlphabet)))
	for range keyBodyLen {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b.WriteByte(keyAlphabet[n.Int64()])
	}
	return b.String(), nil
}

// WellFormed reports whether s has the shape of a key, so that garbage is
// refused without a store lookup.
func WellFormed(s string) bool {
	if len(s) != len(keyPrefix)+keyBodyLen || !strings.HasPrefix(s, keyPrefix) {
		return false
	}
	for i := len(keyPrefix); i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Hash returns the stored form of a key: lowercase hex SHA-256. A fast hash
// suffices because keys carry over 256 bits of randomness; there is nothing
// to brute-force as there would be with a password.
func Hash(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// CreateParams describe a key to issue.
type CreateParams struct {
	WorkspaceID string
	Name        string
	// Description is free text for the key's owners, at most 500 characters.
	Description string
	Permissions []gateway.Permission
	Plan        string
	Tier        string
	ExpiresAt   *time.Time
	// CreatedBy is the id of the minting key (the caller, for keys made over
	// the API); empty for keys the operator CLI makes. A minted key never
	// outlives its parent: Create caps ExpiresAt at the parent's, as read
	// from the store, and the store refuses the mint if the parent is not
	// live at that moment.
	CreatedBy string
}

// AuthError says why a key was refused. The API answers every reason with the
// same code (invalid_key); the reason goes into the message and the logs.
type AuthError struct{ Reason string }

func (e *AuthError) Error() string { return "api key " + e.Reason }

// Authentication failure reasons.
var (
	ErrMissing   = &AuthError{"missing"}
	ErrMalformed = &AuthError{"malformed"}
	ErrUnknown   = &AuthError{"unknown"}
	ErrRevoked   = &AuthError{"revoked"}
	ErrExpired   = &AuthError{"expired"}
)

// Service issues and verifies keys. Verification is served from a short-lived
// in-process cache, so a warm instance spends no database round trip on it,
// while a revocation takes effect everywhere within CacheTTL.
type Service struct {
	store    Store
	clock    gateway.Clock
	plans    map[string]bool
	cacheTTL time.Duration

	mu    sync.RWMutex
	cache map[string]cached
	// revocations counts Revoke calls, so that a lookup that read the store
	// before a revocation does not cache what it read after it.
	revocations uint64
	flight      singleflight.Group

	usage usage
	// hits and misses count the lookups served from the cache and those
	// that went to the store (shared reads count once per caller).
	hits, misses atomic.Int64
}

// CacheStats counts key lookups since the service was made: those served
// from the in-process cache, and those that needed the store.
type CacheStats struct{ Hits, Misses int64 }

// CacheStats returns the cache's counters (for metrics).
func (s *Service) CacheStats() CacheStats {
	return CacheStats{Hits: s.hits.Load(), Misses: s.misses.Load()}
}

type cached struct {
	key     *Key
	fetched time.Time
}

// fetchTimeout bounds one store read of a key.
const fetchTimeout = 5 * time.Second

// maxCached bounds the cache; only existing keys are cached, so this is the
// number of distinct live keys an instance serves within one TTL.
const maxCached = 50_000

// NewService returns a Service. plans lists the plan names keys may have.
func NewService(store Store, clock gateway.Clock, plans []string, cacheTTL time.Duration) *Service {
	s := &Service{store: store, clock: clock, plans: map[string]bool{}, cacheTTL: cacheTTL, cache: map[string]cached{}}
	s.usage.init(store)
	for _, p := range plans {
		s.plans[p] = true
	}
	return s
}

// Create issues a key and returns its record and the plaintext, which exists
// nowhere else afterwards.
func (s *Service) Create(ctx context.Context, p CreateParams) (*Key, string, error) {
	if err := s.validate(&p); err != nil {
		return nil, "", err
	}
	if p.CreatedBy != "" {
		if err := s.capToParent(ctx, &p); err != nil {
			return nil, "", err
		}
	}
	plain, err := Generate()
	if err != nil {
		return nil, "", gateway.Internal(err)
	}
	k := &Key{
		ID:          uuid.NewString(),
		WorkspaceID: p.WorkspaceID,
		Name:        p.Name,
		Description: p.Description,
		Prefix:      plain[:displayLen],
		Hash:        Hash(plain),
		Permissions: p.Permissions,
		Plan:        p.Plan,
		Tier:        p.Tier,
		ExpiresAt:   p.ExpiresAt,
		CreatedAt:   s.clock.Now().UTC().Truncate(time.Second),
		CreatedBy:   p.CreatedBy,
	}
	err = s.store.CreateKey(ctx, k)
	if errors.Is(err, ErrInactive) {
		// The parent was revoked between capToParent and the insert.
		return nil, "", ErrRevoked
	}
	if err != nil {
		return nil, "", gateway.Internal(fmt.Errorf("create key: %w", err))
	}
	return k, plain, nil
}

// capToParent reads the minting key from the store (never the cache, which
// may be seconds behind a revocation on another instance), refuses the mint
// with an *AuthError when the parent is no longer live, and caps the new
// key's expiry at the parent's: a minted key never outlives its parent.
// Capping rather than refusing keeps a client that asks for no expiry, or a
// long one, working, and the answer's expires_at says what it got.
func (s *Service) capToParent(ctx context.Context, p *CreateParams) error {
	parent, err := s.store.KeyByID(ctx, p.WorkspaceID, p.CreatedBy)
	if errors.Is(err, ErrNotFound) {
		return ErrUnknown
	}
	if err != nil {
		return gateway.Internal(fmt.Errorf("read parent key: %w", err))
	}
	if err := liveness(parent, s.clock.Now()); err != nil {
		return err
	}
	if parent.ExpiresAt != nil && (p.ExpiresAt == nil || p.ExpiresAt.After(*parent.ExpiresAt)) {
		t := parent.ExpiresAt.UTC()
		p.ExpiresAt = &t
	}
	return nil
}

// liveness is nil for a key that authenticates at now, else the *AuthError
// that says why not.
func liveness(k *Key, now time.Time) error {
	if k.RevokedAt != nil && !k.RevokedAt.After(now) {
		return ErrRevoked
	}
	if k.ExpiresAt != nil && !k.ExpiresAt.After(now) {
		return ErrExpired
	}
	return nil
}

func (s *Service) validate(p *CreateParams) error {
	invalid := func(field, msg string) error {
		return gateway.E(gateway.CodeValidation, msg).WithDetails(map[string]any{"field": field})
	}
	ws, ok := gateway.CanonicalID(p.WorkspaceID)
	if !ok {
		return invalid("workspace_id", "workspace_id must be a UUID.")
	}
	p.WorkspaceID = ws
	if utf8.RuneCountInString(p.Name) > 100 {
		return invalid("name", "name must be at most 100 characters.")
	}
	if utf8.RuneCountInString(p.Description) > 500 {
		return invalid("description", "description must be at most 500 characters.")
	}
	if len(p.Permissions) == 0 {
		return invalid("permissions", "permissions must name at least one permission.")
	}
	seen := map[gateway.Permission]bool{}
	var perms []gateway.Permission
	for _, perm := range p.Permissions {
		if !gateway.ValidPermission(perm) {
			return gateway.E(gateway.CodeValidation, fmt.Sprintf("Unknown permission %q.", perm)).
				WithDetails(map[string]any{"field": "permissions", "invalid": []string{string(perm)}})
		}
		if !seen[perm] {
			seen[perm] = true
			perms = append(perms, perm)
		}
	}
	sort.Slice(perms, func(i, j int) bool { return perms[i] < perms[j] })
	p.Permissions = perms
	if p.Plan == "" {
		p.Plan = plan.Default
	}
	if !s.plans[p.Plan] {
		return invalid("plan", fmt.Sprintf("Unknown plan %q.", p.Plan))
	}
	if p.Tier == "" {
		p.Tier = plan.TierStandard
	}
	if !plan.KnownTier(p.Tier) {
		return invalid("rate_limit_tier", fmt.Sprintf("Unknown tier %q; use standard, high or unmetered.", p.Tier))
	}
	if p.ExpiresAt != nil {
		t := p.ExpiresAt.UTC().Truncate(time.Second)
		if !t.After(s.clock.Now()) {
			return invalid("expires_at", "expires_at must be in the future.")
		}
		p.ExpiresAt = &t
	}
	return nil
}

// List returns a workspace's keys (never the plaintext, which is not stored).
func (s *Service) List(ctx context.Context, workspaceID string, includeRevoked bool) ([]Key, error) {
	if _, ok := gateway.CanonicalID(workspaceID); !ok {
		return nil, gateway.E(gateway.CodeValidation, "workspace_id must be a UUID.").WithDetails(map[string]any{"field": "workspace_id"})
	}
	keys, err := s.store.ListKeys(ctx, workspaceID, includeRevoked)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return keys, nil
}

// Revoke revokes a key (scoped to workspaceID unless it is empty, the
// operator's unscoped revoke) and every key minted from it, transitively, and
// drops them from this instance's cache; other instances notice within the
// cache TTL.
func (s *Service) Revoke(ctx context.Context, workspaceID, id string) error {
	return s.revoke(ctx, workspaceID, id, "")
}

// RevokeAs is the API's revoke: caller may revoke itself, or a key of its
// workspace whose permissions and tier its own cover (Covers); anything else
// is insufficient_permissions. The caller's own liveness is read by the store
// in the same transaction as the revocation, not taken from the cache, so a
// key revoked a moment ago on another instance cannot revoke anything.
func (s *Service) RevokeAs(ctx context.Context, caller *gateway.Principal, id string) error {
	target, err := s.Get(ctx, caller.WorkspaceID, id)
	if err != nil {
		return err
	}
	if target.ID != caller.KeyID {
		if err := Covers(caller, target.Permissions, target.Tier, "revoke"); err != nil {
			return err
		}
	}
	return s.revoke(ctx, caller.WorkspaceID, target.ID, caller.KeyID)
}

func (s *Service) revoke(ctx context.Context, workspaceID, id, by string) error {
	ids, err := s.store.RevokeKey(ctx, workspaceID, id, by, s.clock.Now())
	if errors.Is(err, ErrNotFound) {
		return gateway.E(gateway.CodeNotFound, "No API key with that id.")
	}
	if errors.Is(err, ErrInactive) {
		return ErrRevoked
	}
	if err != nil {
		return gateway.Internal(err)
	}
	// The store accepts any spelling of a UUID; the cache holds the
	// canonical one.
	if canonical, ok := gateway.CanonicalID(id); ok {
		id = canonical
	}
	gone := map[string]bool{id: true}
	for _, r := range ids {
		gone[r] = true
	}
	s.mu.Lock()
	s.revocations++
	for h, c := range s.cache {
		if gone[c.key.ID] {
			delete(s.cache, h)
		}
	}
	s.mu.Unlock()
	return nil
}

// Get returns one key of the workspace, revoked or not, or not_found (also
// for malformed ids and other workspaces' keys).
func (s *Service) Get(ctx context.Context, workspaceID, id string) (*Key, error) {
	k, err := s.store.KeyByID(ctx, workspaceID, id)
	if errors.Is(err, ErrNotFound) || workspaceID == "" {
		return nil, gateway.E(gateway.CodeNotFound, "No API key with that id.")
	}
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return k, nil
}

// Query selects keys for Find: a workspace, whether revoked keys count, a
// search text and a page window.
type Query struct {
	WorkspaceID    string
	IncludeRevoked bool
	// Search, when not empty, keeps keys whose name or prefix contains it,
	// ignoring case. It is matched here, in Go, as plain text: no character
	// of it is a wildcard or reaches a query language, in any store.
	Search string
	Offset int
	Limit  int
}

// Find returns one page of the workspace's keys matching q, newest first, and
// how many match in all.
func (s *Service) Find(ctx context.Context, q Query) ([]Key, int, error) {
	keys, err := s.List(ctx, q.WorkspaceID, q.IncludeRevoked)
	if err != nil {
		return nil, 0, err
	}
	if q.Search != "" {
		needle := strings.ToLower(q.Search)
		keys = slices.DeleteFunc(keys, func(k Key) bool {
			return !strings.Contains(strings.ToLower(k.Name), needle) && !strings.Contains(strings.ToLower(k.Prefix), needle)
		})
	}
	total := len(keys)
	start := min(max(q.Offset, 0), total)
	end := min(start+max(q.Limit, 0), total)
	return keys[start:end], total, nil
}

// Covers is the one rule for what a key may do to another key: caller covers
// a key with perms and tier when every one of perms is satisfied by the
// caller's own permissions (so webhooks:write covers webhooks:read) and tier
// is not above the caller's. It applies to minting (verb "grant") and to
// revoking (verb "revoke"); the answer is insufficient_permissions naming
// what is missing. A caller whose tier is unknown counts as standard.
func Covers(caller *gateway.Principal, perms []gateway.Permission, tier, verb string) error {
	var missing []string
	for _, perm := range perms {
		if !gateway.Satisfies(caller.Permissions, perm) && !slices.Contains(missing, string(perm)) {
			missing = append(missing, string(perm))
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return gateway.E(gateway.CodeInsufficientPermissions,
			fmt.Sprintf("A key can only %s a key whose permissions it holds itself; this key lacks %s.", verb, quoteAll(missing))).
			WithDetails(map[string]any{"required": missing})
	}
	own := caller.Tier
	ownRank, ok := plan.TierRank(own)
	if !ok {
		own, ownRank = plan.TierStandard, 0
	}
	if r, ok := plan.TierRank(tier); !ok || r > ownRank {
		return gateway.E(gateway.CodeInsufficientPermissions,
			fmt.Sprintf("A key can only %s a key whose rate_limit_tier is at most its own (%s).", verb, own)).
			WithDetails(map[string]any{"field": "rate_limit_tier", "max_tier": own})
	}
	return nil
}

// quoteAll renders names as a comma-separated list of quoted strings.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// Authenticate verifies a plaintext key and returns the principal it stands
// for. Failures are *AuthError; store failures are returned as they are.
// cacheHit reports whether the store was skipped, so that callers can apply
// the per-IP limit only to lookups that reach the store.
func (s *Service) Authenticate(ctx context.Context, plaintext string) (p *gateway.Principal, err error) {
	if plaintext == "" {
		return nil, ErrMissing
	}
	if !WellFormed(plaintext) {
		return nil, ErrMalformed
	}
	k, err := s.lookup(ctx, Hash(plaintext))
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if err := liveness(k, now); err != nil {
		return nil, err
	}
	s.usage.note(k.ID, now)
	return &gateway.Principal{
		KeyID:       k.ID,
		WorkspaceID: k.WorkspaceID,
		Permissions: k.Permissions,
		Plan:        k.Plan,
		Tier:        k.Tier,
		ExpiresAt:   k.ExpiresAt,
	}, nil
}

// Cached reports whether a plaintext key is verified from the cache right now
// (no store round trip would be needed).
func (s *Service) Cached(plaintext string) bool {
	c, ok := s.cachedEntry(plaintext)
	return ok && s.clock.Now().Sub(c.fetched) < s.cacheTTL
}

func (s *Service) lookup(ctx context.Context, hash string) (*Key, error) {
	now := s.clock.Now()
	s.mu.RLock()
	c, ok := s.cache[hash]
	s.mu.RUnlock()
	if ok && now.Sub(c.fetched) < s.cacheTTL {
		s.hits.Add(1)
		return c.key, nil
	}
	s.misses.Add(1)
	// When a busy key's entry expires, every request in flight misses at
	// once; one store read serves them all.
	// The read is shared, so it must not fail because the first caller gave
	// up; it is bounded on its own instead.
	v, err, _ := s.flight.Do(hash, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		return s.fetch(fctx, hash, now)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Key), nil
}

// fetch reads a key from the store and caches it.
func (s *Service) fetch(ctx context.Context, hash string, now time.Time) (*Key, error) {
	s.mu.RLock()
	revocations := s.revocations
	s.mu.RUnlock()
	k, err := s.store.KeyByHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("look up key: %w", err)
	}
	// The store found the row by its hash index; compare again in constant
	// time so that no store implementation's matching rule can be abused.
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash)) != 1 {
		return nil, ErrUnknown
	}
	if s.cacheTTL > 0 {
		s.mu.Lock()
		if s.revocations == revocations {
			if len(s.cache) >= maxCached {
				clear(s.cache)
			}
			s.cache[hash] = cached{key: k, fetched: now}
		}
		s.mu.Unlock()
	}
	return k, nil
}
