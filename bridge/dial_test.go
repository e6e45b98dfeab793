package main

import (
	"strings"
	"testing"

	"github.com/spf13/viper"
)

func settingsOf(kv map[string]string) (settings, error) {
	v := viper.New()
	v.Set(waitField.FieldName, "60s")
	for k, val := range kv {
		v.Set(k, val)
	}
	return settingsFrom(v)
}

// Plaintext goes to loopback only; anything else needs TLS. Nothing here dials.
func TestPlaintextOnlyToLoopback(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:50051", "127.3.2.1:1", "[::1]:50051", "localhost:50051"} {
		if _, err := settingsOf(map[string]string{"connector-addr": addr}); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	for _, addr := range []string{"10.0.0.7:50051", "daemon.example:50051", "[2001:db8::1]:50051", "0.0.0.0:50051"} {
		_, err := settingsOf(map[string]string{"connector-addr": addr})
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") || !strings.Contains(err.Error(), "plaintext") {
			t.Errorf("%s: %v", addr, err)
		}
		if _, err := settingsOf(map[string]string{"connector-addr": addr, "connector-ca": "/ca.pem"}); err != nil {
			t.Errorf("%s with a CA: %v", addr, err)
		}
	}
}

func TestBadSettingsSayWhy(t *testing.T) {
	cases := map[string]map[string]string{
		"is not host:port":         {"connector-addr": "127.0.0.1"},
		"not a positive duration":  {"connector-addr": "127.0.0.1:1", "connector-wait": "soon"},
		"not a positive duration ": {"connector-addr": "127.0.0.1:1", "connector-wait": "-1s"},
	}
	for want, kv := range cases {
		_, err := settingsOf(kv)
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(want)) {
			t.Errorf("%v: %v, want %q", kv, err, want)
		}
	}
	s, _ := settingsOf(map[string]string{"connector-addr": "127.0.0.1:1", "connector-ca": "/nonexistent/ca.pem"})
	if _, err := s.credentials(); err == nil || !strings.Contains(err.Error(), "--connector-ca") {
		t.Errorf("a missing CA file: %v", err)
	}
}
