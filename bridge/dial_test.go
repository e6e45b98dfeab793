package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/conductorone/baton-sdk/pb/c1/utls/v1"
	"github.com/conductorone/baton-sdk/pkg/utls"
	"github.com/spf13/viper"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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

// pemFiles writes a credential from baton-sdk's generator as the PEM files the flags name.
func pemFiles(t *testing.T, cred *v1.Credential) (cert, key, ca string) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certPEM, keyPEM := pemPair(t, cred)
	return write("cert.pem", certPEM), write("key.pem", keyPEM), write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cred.GetCaCert()}))
}

func pemPair(t *testing.T, cred *v1.Credential) (cert, key []byte) {
	der, err := x509.MarshalPKCS8PrivateKey(ed25519.PrivateKey(cred.GetKey()))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cred.GetCert()}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// A TLS 1.3 server that asks for a client certificate from its own CA, as the daemon does under
// --tls-client-ca. It holds each connection for 2 s after the handshake.
func mutualTLSServer(t *testing.T, server *v1.Credential) string {
	pool := x509.NewCertPool()
	ca, err := x509.ParseCertificate(server.GetCaCert())
	if err != nil {
		t.Fatal(err)
	}
	pool.AddCert(ca)
	cert, err := tls.X509KeyPair(pemPair(t, server))
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool,
		MinVersion: tls.VersionTLS13, NextProtos: []string{"h2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); time.Sleep(2 * time.Second); c.Close() }()
		}
	}()
	return l.Addr().String()
}

// A client certificate the daemon refuses: under TLS 1.3 gRPC may see only "broken pipe" (its first
// write met the reset socket, as in CI on 2026-12-03); the error still names the TLS refusal.
func TestARefusedClientCertificateIsNamed(t *testing.T) {
	ctx := context.Background()
	client, server, err := utls.GenerateClientServerCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := utls.GenerateClientServerCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addr := mutualTLSServer(t, server)
	_, _, ca := pemFiles(t, server)
	cert, key, _ := pemFiles(t, other)
	f, err := dialDaemon(ctx, settings{addr: addr, ca: ca, cert: cert, key: key, wait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.log = zap.NewNop()
	pipe := status.Error(codes.Unavailable, "connection error: desc = \"transport: write tcp 127.0.0.1:1->"+addr+": write: broken pipe\"")
	err = f.retrying(ctx, codes.FailedPrecondition, func(context.Context) error { return pipe })
	if msg := status.Convert(err).Message(); status.Code(err) != codes.FailedPrecondition || !contains(msg, "could not be reached", "broken pipe", "tls:", "certificate") {
		t.Fatalf("the error does not name the refused certificate: %v", err)
	}

	// With the CA's own client certificate, the handshake meets nothing to name.
	cert, key, _ = pemFiles(t, client)
	if got := (settings{addr: addr, ca: ca, cert: cert, key: key}).tlsProblem(ctx); got != "" {
		t.Fatalf("an accepted certificate was named a problem: %s", got)
	}
	// Nor does plaintext, which has no handshake.
	if got := (settings{addr: addr}).tlsProblem(ctx); got != "" {
		t.Fatalf("plaintext: %s", got)
	}
}
