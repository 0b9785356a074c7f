package apikeys

// Known reports whether this instance has verified the key as live before
// and still holds it, even if the cache entry is too old to be trusted
// without a store read. It lets the per-IP guard tell a real client behind
// a shared address from its neighbours' guesses: an address over its
// failure budget may still have a known key verified (one store read per
// cache TTL at most, since the read refreshes the entry), because nobody
// can make a key known without holding a live one.
func (s *Service) Known(plaintext string) bool {
	c, ok := s.cachedEntry(plaintext)
	if !ok {
		return false
	}
	now := s.clock.Now()
	k := c.key
	return (k.RevokedAt == nil || k.RevokedAt.After(now)) && (k.ExpiresAt == nil || k.ExpiresAt.After(now))
}

// cachedEntry returns the cache entry of a plaintext key, of any age.
func (s *Service) cachedEntry(plaintext string) (cached, bool) {
	if !WellFormed(plaintext) {
		return cached{}, false
	}
	s.mu.RLock()
	c, ok := s.cache[Hash(plaintext)]
	s.mu.RUnlock()
	return c, ok
}
