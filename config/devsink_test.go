package config

import (
	"strings"
	"testing"
)

// production is a valid production environment plus extra.
func production(extra map[string]string) map[string]string {
	m := map[string]string{
		"GATEWAY_ENV":           "production",
		"DATABASE_URL":          "postgres://u@h/db",
		"REDIS_URL":             "redis://r:6379",
		"SECRET_ENCRYPTION_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestProductionRefusesEachDevelopmentDeliverySetting(t *testing.T) {
	tests := []struct{ name, value string }{
		{"DEV_SINK", "true"},
		{"DEV_SINK_ADDR", "127.0.0.1:8443"},
		{"DELIVERY_ALLOW_ONLY", "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(production(map[string]string{tt.name: tt.value})))
			if err == nil || !strings.Contains(err.Error(), tt.name+": ") || !strings.Contains(err.Error(), "not allowed in production") {
				t.Fatalf("Load with %s=%s in production: %v, want %s refused as not allowed in production", tt.name, tt.value, err, tt.name)
			}
		})
	}
	// Off is off: explicitly disabling them is not an error.
	if _, err := Load(env(production(map[string]string{"DEV_SINK": "false", "DELIVERY_ALLOW_ONLY": "false"}))); err != nil {
		t.Errorf("DEV_SINK=false DELIVERY_ALLOW_ONLY=false in production: %v", err)
	}
}

func TestDevSinkAddressMustBeLoopback(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8443", true},
		{"127.0.0.1:0", true},
		{"[::1]:8443", true},
		{"0.0.0.0:8443", false},
		{"10.0.0.1:8443", false},
		{"93.184.215.14:443", false},
		{"localhost:8443", false},
		{"127.0.0.1", false},
		{"[::]:8443", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			c, err := Load(env(map[string]string{"DEV_SINK": "true", "DEV_SINK_ADDR": tt.addr}))
			switch {
			case tt.ok && err != nil:
				t.Fatalf("Load: %v", err)
			case tt.ok && (!c.DevSink || c.DevSinkAddr != tt.addr):
				t.Fatalf("DevSink = %v, DevSinkAddr = %q", c.DevSink, c.DevSinkAddr)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), "DEV_SINK_ADDR")):
				t.Fatalf("Load: %v, want an error naming DEV_SINK_ADDR", err)
			}
		})
	}
}

// Only serve's own worker knows the sink, so the sink needs it.
func TestDevSinkNeedsTheWorkerInsideServe(t *testing.T) {
	_, err := Load(env(map[string]string{"DEV_SINK": "true", "REDIS_URL": "redis://r:6379", "RUN_WORKER": "false"}))
	if err == nil || !strings.Contains(err.Error(), "RUN_WORKER") {
		t.Errorf("DEV_SINK with RUN_WORKER=false: %v, want an error naming RUN_WORKER", err)
	}
	if _, err := Load(env(map[string]string{"DEV_SINK": "true", "REDIS_URL": "redis://r:6379"})); err != nil {
		t.Errorf("DEV_SINK with Redis and the default in-process worker: %v", err)
	}
}

func TestDevelopmentDeliveryDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DevSink || c.DevSinkAddr != "127.0.0.1:8443" || c.Delivery.AllowOnly {
		t.Errorf("DevSink = %v, DevSinkAddr = %q, AllowOnly = %v; want off, 127.0.0.1:8443, off", c.DevSink, c.DevSinkAddr, c.Delivery.AllowOnly)
	}
	c, err = Load(env(map[string]string{"DELIVERY_ALLOW_ONLY": "true"}))
	if err != nil || !c.Delivery.AllowOnly {
		t.Fatalf("DELIVERY_ALLOW_ONLY=true: %v, AllowOnly = %v", err, c != nil && c.Delivery.AllowOnly)
	}
}
