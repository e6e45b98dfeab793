package conformance

// The bridge when things go wrong: a daemon not up yet, a daemon that dies mid-sync, the wrong
// client certificate, and mutual TLS done right.

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/conductorone/baton-sdk/pb/c1/utls/v1"
	"github.com/conductorone/baton-sdk/pkg/utls"
)

type pemFiles struct{ cert, key, ca string }

// writeCred writes one of the SDK's throw-away credentials (Ed25519, IP SANs) as PEM files.
func writeCred(t *testing.T, dir string, cred *v1.Credential) pemFiles {
	t.Helper()
	write := func(name, kind string, der []byte) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600), "write %s", name)
		return p
	}
	key, err := x509.MarshalPKCS8PrivateKey(ed25519.PrivateKey(cred.GetKey()))
	must(t, err, "encode key")
	return pemFiles{
		cert: write("cert.pem", "CERTIFICATE", cred.GetCert()),
		key:  write("key.pem", "PRIVATE KEY", key),
		ca:   write("ca.pem", "CERTIFICATE", cred.GetCaCert()),
	}
}

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err, "listen")
	addr := l.Addr().String()
	l.Close()
	return addr
}

type bridgeResult struct {
	out string
	err error
}

// runBridgeAsync runs the bridge in the background; its result arrives on the channel.
func runBridgeAsync(t *testing.T, args ...string) <-chan bridgeResult {
	done := make(chan bridgeResult, 1)
	go func() {
		out, err := runBridge(t, nil, args...)
		done <- bridgeResult{out, err}
	}()
	return done
}

func TestBridgeWaitsForADaemonThatIsNotUpYet(t *testing.T) {
	bridgeBin(t) // built before the clock starts
	sim := startSim(t)
	st := sim.state(t)
	addr := freeAddr(t)
	path := filepath.Join(t.TempDir(), "sync.c1z")
	done := runBridgeAsync(t, "--connector-addr", addr, "-f", path)
	time.Sleep(3 * time.Second)
	select {
	case r := <-done:
		t.Fatalf("the bridge ended before the daemon was up (%v):\n%s", r.err, tail(r.out))
	default:
	}
	startDaemon(t, sim, "--listen", addr)
	r := <-done
	if r.err != nil {
		t.Fatalf("the bridge failed once the daemon was up: %v\n%s", r.err, tail(r.out))
	}
	if !strings.Contains(r.out, "waiting for the miro-connector daemon") {
		t.Fatalf("the bridge did not say it was waiting:\n%s", tail(r.out))
	}
	checkOrg(t, readC1Z(t, path), st)
}

func TestBridgeWhenTheDaemonDiesMidSync(t *testing.T) {
	// 100 ms a Miro request: the sync takes seconds, time enough to kill the daemon in its middle.
	bridgeBin(t)
	sim := startSim(t, "--latency-ms", "100")
	st := sim.state(t)
	addr := freeAddr(t)
	daemon, _ := startDaemonProc(t, sim, "--listen", addr)
	path := filepath.Join(t.TempDir(), "sync.c1z")
	done := runBridgeAsync(t, "--connector-addr", addr, "-f", path, "--workers", "0", "--connector-wait", "3s")
	for deadline := time.Now().Add(time.Minute); sim.stats(t).Requests < 8; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sync never started")
		}
	}
	must(t, daemon.cmd.Process.Kill(), "kill the daemon")
	r := <-done
	if r.err == nil {
		t.Fatalf("the sync succeeded although the daemon died:\n%s", tail(r.out))
	}
	const reason = "could not be reached for 3s"
	if !strings.Contains(r.out, reason) {
		t.Fatalf("the sync did not fail with %q:\n%s", reason, tail(r.out))
	}
	// The next one, against a daemon started again, succeeds.
	startDaemon(t, sim, "--listen", addr)
	mustBridge(t, "--connector-addr", addr, "-f", path, "--workers", "0")
	checkOrg(t, readC1Z(t, path), st)
}

func TestBridgeOverMutualTLS(t *testing.T) {
	sim := startSim(t)
	st := sim.state(t)
	ctx := context.Background()
	clientCred, serverCred, err := utls.GenerateClientServerCredentials(ctx)
	must(t, err, "generate credentials")
	server := writeCred(t, t.TempDir(), serverCred)
	client := writeCred(t, t.TempDir(), clientCred)
	addr := startDaemon(t, sim, "--tls-cert", server.cert, "--tls-key", server.key, "--tls-client-ca", server.ca)

	path := filepath.Join(t.TempDir(), "sync.c1z")
	mustBridge(t, "--connector-addr", addr, "-f", path,
		"--connector-ca", server.ca, "--connector-cert", client.cert, "--connector-key", client.key)
	checkOrg(t, readC1Z(t, path), st)

	// A client certificate from another CA: the daemon refuses the handshake, and the error says so.
	otherClient, _, err := utls.GenerateClientServerCredentials(ctx)
	must(t, err, "generate credentials")
	wrong := writeCred(t, t.TempDir(), otherClient)
	out, err := runBridge(t, nil, "--connector-addr", addr, "-f", filepath.Join(t.TempDir(), "x.c1z"), "--connector-wait", "2s",
		"--connector-ca", server.ca, "--connector-cert", wrong.cert, "--connector-key", wrong.key)
	if err == nil {
		t.Fatalf("a sync with the wrong client certificate succeeded:\n%s", tail(out))
	}
	if !strings.Contains(out, "tls:") || !strings.Contains(out, "could not be reached") {
		t.Fatalf("the error does not name the TLS problem:\n%s", tail(out))
	}
	if sim.stats(t).Requests == 0 {
		t.Fatal("the first sync made no Miro request")
	}

	// Server-only TLS: the CA alone, then a server name the certificate does not hold.
	tlsOnly := startDaemon(t, sim, "--tls-cert", server.cert, "--tls-key", server.key)
	mustBridge(t, "--connector-addr", tlsOnly, "-f", filepath.Join(t.TempDir(), "tls.c1z"), "--connector-ca", server.ca)
	out, err = runBridge(t, nil, "--connector-addr", tlsOnly, "-f", filepath.Join(t.TempDir(), "y.c1z"), "--connector-wait", "2s",
		"--connector-ca", server.ca, "--connector-server-name", "daemon.example")
	if err == nil || !strings.Contains(out, "certificate") || !strings.Contains(out, "daemon.example") {
		t.Fatalf("a wrong --connector-server-name did not fail naming the certificate check (%v):\n%s", err, tail(out))
	}
}

// A one-shot sync killed in its middle, into a .c1z that holds an earlier sync, then run again into
// it: what the last run stores equals a clean sync's, exactly.
func TestAResumedOneShotSyncEqualsACleanOne(t *testing.T) {
	bridgeBin(t)
	sim := startSim(t, "--latency-ms", "200")
	st := sim.state(t)
	addr := startDaemon(t, sim)
	clean := filepath.Join(t.TempDir(), "clean.c1z")
	mustBridge(t, "--connector-addr", addr, "-f", clean, "--workers", "0")
	want := readC1Z(t, clean)
	path := filepath.Join(t.TempDir(), "resumed.c1z")
	mustBridge(t, "--connector-addr", addr, "-f", path, "--workers", "0")
	for _, sig := range []os.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		cmd := exec.Command(bridgeBin(t), "--connector-addr", addr, "-f", path, "--workers", "0")
		var out lockedBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		must(t, cmd.Start(), "start the bridge")
		from := sim.stats(t).Requests
		for deadline := time.Now().Add(time.Minute); sim.stats(t).Requests < from+12; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the sync never got going:\n%s", tail(out.String()))
			}
		}
		must(t, cmd.Process.Signal(sig), "stop the bridge mid-sync")
		_ = cmd.Wait()
		mustBridge(t, "--connector-addr", addr, "-f", path, "--workers", "0")
		got := readC1Z(t, path)
		checkOrg(t, got, st)
		sameSet(t, fmt.Sprintf("entitlements after %v", sig), got.entitlements, want.entitlements)
		sameSet(t, fmt.Sprintf("grants after %v", sig), got.grants, want.grants)
		if len(got.resources) != len(want.resources) {
			t.Errorf("after %v: %d resources, a clean sync %d", sig, len(got.resources), len(want.resources))
		}
	}
}
