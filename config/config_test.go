package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Port != 8080 || c.BasePath != "/functions/v1/api-gateway" || c.Env != EnvDevelopment {
		t.Errorf("defaults: port %d base %q env %q", c.Port, c.BasePath, c.Env)
	}
	if c.StoreKind() != "memory" {
		t.Errorf("StoreKind = %q, want memory", c.StoreKind())
	}
	if c.MetricsAddr != "" {
		t.Errorf("MetricsAddr = %q, want metrics off by default", c.MetricsAddr)
	}
	if c.Plans["starter"] != (Plan{PerMinute: 10, PerDay: 100}) || c.Plans["org"] != (Plan{PerMinute: 200, PerDay: 10000}) {
		t.Errorf("plans = %+v", c.Plans)
	}
	if len(c.Delivery.RetrySchedule) != 5 || c.Delivery.RetrySchedule[4] != 6*time.Hour || c.Delivery.Timeout != 10*time.Second ||
		c.Delivery.DisableAfter != 72*time.Hour || !c.Delivery.InProcess || c.Delivery.LogRetention != 30*24*time.Hour {
		t.Errorf("delivery defaults: %+v", c.Delivery)
	}
	if c.MaxBodyBytes != 64<<10 || c.WebhookLimit != 100 || c.KeyCacheTTL != 5*time.Second {
		t.Errorf("limits: body %d webhooks %d ttl %s", c.MaxBodyBytes, c.WebhookLimit, c.KeyCacheTTL)
	}
}

func TestLoadParsesValues(t *testing.T) {
	c, err := Load(env(map[string]string{
		"PORT":                  "9000",
		"BASE_PATH":             "/api/",
		"DATABASE_URL":          "postgres://u@h/db",
		"REDIS_URL":             "redis://127.0.0.1:6379/2",
		"SECRET_ENCRYPTION_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"TRUSTED_PROXIES":       "10.0.0.0/8, 192.168.1.7",
		"RATE_LIMIT_STARTER":    "3/7",
		"LOG_LEVEL":             "debug",
		"METRICS_ADDR":          "127.0.0.1:9464",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Port != 9000 || c.BasePath != "/api" || c.StoreKind() != "postgres" {
		t.Errorf("got port %d base %q store %q", c.Port, c.BasePath, c.StoreKind())
	}
	if len(c.SecretEncryptionKey) != 32 || c.SecretEncryptionKey[31] != 31 {
		t.Errorf("encryption key not decoded")
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.168.1.7/32" {
		t.Errorf("trusted proxies = %v", c.TrustedProxies)
	}
	if c.Plans["starter"] != (Plan{PerMinute: 3, PerDay: 7}) || c.Plans["pro"] != (Plan{PerMinute: 50, PerDay: 1000}) {
		t.Errorf("plans = %+v", c.Plans)
	}
	if c.MetricsAddr != "127.0.0.1:9464" {
		t.Errorf("MetricsAddr = %q", c.MetricsAddr)
	}
}

func TestLoadErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"bad port", map[string]string{"PORT": "http"}, []string{"PORT"}},
		{"port out of range", map[string]string{"PORT": "70000"}, []string{"PORT"}},
		{"bad env", map[string]string{"GATEWAY_ENV": "staging"}, []string{"GATEWAY_ENV"}},
		{"short key", map[string]string{"SECRET_ENCRYPTION_KEY": "c2hvcnQ="}, []string{"SECRET_ENCRYPTION_KEY"}},
		{"bad proxy", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, []string{"TRUSTED_PROXIES"}},
		{"metrics address without port", map[string]string{"METRICS_ADDR": "127.0.0.1"}, []string{"METRICS_ADDR"}},
		{"metrics port out of range", map[string]string{"METRICS_ADDR": ":99999"}, []string{"METRICS_ADDR"}},
		{"metrics port not a number", map[string]string{"METRICS_ADDR": ":metrics"}, []string{"METRICS_ADDR"}},
		{"bad plan", map[string]string{"RATE_LIMIT_PRO": "fast"}, []string{"RATE_LIMIT_PRO"}},
		{"bad redis", map[string]string{"REDIS_URL": "127.0.0.1:6379"}, []string{"REDIS_URL"}},
		{"bad database", map[string]string{"DATABASE_URL": "mysql://x"}, []string{"DATABASE_URL"}},
		{"both stores", map[string]string{"DATABASE_URL": "postgres://h/d", "SUPABASE_URL": "https://x.supabase.co", "SUPABASE_SERVICE_ROLE_KEY": "k"}, []string{"SUPABASE_URL"}},
		{"supabase without key", map[string]string{"SUPABASE_URL": "https://x.supabase.co"}, []string{"SUPABASE_SERVICE_ROLE_KEY"}},
		{"production unsafe", map[string]string{"GATEWAY_ENV": "production"}, []string{"DATABASE_URL", "REDIS_URL", "SECRET_ENCRYPTION_KEY"}},
		{"bad duration", map[string]string{"KEY_CACHE_TTL": "forever"}, []string{"KEY_CACHE_TTL"}},
		{"bad level", map[string]string{"LOG_LEVEL": "loud"}, []string{"LOG_LEVEL"}},
		{"bad schedule", map[string]string{"DELIVERY_RETRY_SCHEDULE": "5s,soon"}, []string{"DELIVERY_RETRY_SCHEDULE"}},
		{"lease not over timeout", map[string]string{"DELIVERY_TIMEOUT": "30s", "DELIVERY_LEASE": "10s"}, []string{"DELIVERY_LEASE"}},
		{"bad allow cidr", map[string]string{"DELIVERY_ALLOW_CIDRS": "localhost"}, []string{"DELIVERY_ALLOW_CIDRS"}},
		{"bad dns server", map[string]string{"DNS_SERVER": "127.0.0.1"}, []string{"DNS_SERVER"}},
		{"test settings in production", map[string]string{"GATEWAY_ENV": "production", "DATABASE_URL": "postgres://h/d", "REDIS_URL": "redis://r:6379",
			"SECRET_ENCRYPTION_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "DELIVERY_ALLOW_CIDRS": "127.0.0.0/8", "DELIVERY_CA_FILE": "/ca.pem", "DNS_SERVER": "127.0.0.1:53"},
			[]string{"DELIVERY_ALLOW_CIDRS", "DELIVERY_CA_FILE", "DNS_SERVER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

func TestProductionAcceptsSafeSettings(t *testing.T) {
	_, err := Load(env(map[string]string{
		"GATEWAY_ENV":           "production",
		"DATABASE_URL":          "postgres://u@h/db",
		"REDIS_URL":             "redis://r:6379",
		"SECRET_ENCRYPTION_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
}
