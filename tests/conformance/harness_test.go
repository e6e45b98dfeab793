package conformance

// Processes under test: the Miro simulator and the connector daemon, both from this checkout's
// binary, on free loopback ports.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func binary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("MIRO_CONNECTOR_BIN"); b != "" {
		return b
	}
	root, _ := filepath.Abs("../..")
	cmd := exec.Command("cargo", "build", "--quiet", "--bin", "miro-connector")
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cargo build: %v", err)
	}
	return filepath.Join(root, "target", "debug", "miro-connector")
}

type proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	output strings.Builder
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// start runs the binary and returns once `match` finds its first submatch in the output.
func start(t *testing.T, match *regexp.Regexp, env []string, args ...string) (*proc, string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	p := &proc{cmd: cmd}
	found := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		s.Buffer(make([]byte, 1<<20), 1<<20)
		for s.Scan() {
			line := s.Text()
			p.mu.Lock()
			p.output.WriteString(line + "\n")
			p.mu.Unlock()
			if m := match.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	stopAtCleanup(t, cmd)
	select {
	case v := <-found:
		return p, v
	case <-time.After(60 * time.Second):
		t.Fatalf("%v did not start:\n%s", args, p.log())
	}
	return nil, ""
}

// stopAtCleanup ends a started process when the test ends: SIGTERM, then a kill after 10 s.
func stopAtCleanup(t *testing.T, cmd *exec.Cmd) {
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
}

type simulator struct {
	api, scim string
}

func startSim(t *testing.T, extra ...string) simulator {
	args := append([]string{"simulate", "--listen", "127.0.0.1:0", "--members", "350", "--teams", "8", "--seed", "3"}, extra...)
	_, api := start(t, regexp.MustCompile(`REST\s+(http://\S+)`), nil, args...)
	return simulator{api: api, scim: api + "/api/v1/scim"}
}

type orgState struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Members map[string]struct {
		ID          string `json:"id"`
		Email       string `json:"email"`
		Role        string `json:"role"`
		Active      bool   `json:"active"`
		DisplayName string `json:"displayName"`
		GivenName   string `json:"givenName"`
		FamilyName  string `json:"familyName"`
		License     string `json:"license"`
		AdminRoles  []struct {
			Kind string `json:"type"`
			Name string `json:"name"`
		} `json:"adminRoles"`
	} `json:"members"`
	Teams map[string]struct {
		Name    string `json:"name"`
		Members map[string]struct {
			Role string `json:"role"`
		} `json:"members"`
	} `json:"teams"`
	Groups map[string]struct {
		Name    string   `json:"name"`
		Members []string `json:"members"`
		Teams   []string `json:"teams"`
	} `json:"groups"`
}

func (s simulator) state(t *testing.T) orgState {
	t.Helper()
	var st orgState
	s.getJSON(t, "/_sim/state", &st)
	return st
}

type simStats struct {
	Requests    uint64 `json:"requests"`
	Credits     uint64 `json:"credits"`
	RateLimited uint64 `json:"rate_limited"`
	Endpoints   map[string]struct {
		Requests uint64            `json:"requests"`
		ByStatus map[string]uint64 `json:"by_status"`
	} `json:"endpoints"`
}

func (s simulator) stats(t *testing.T) simStats {
	var st simStats
	s.getJSON(t, "/_sim/stats", &st)
	return st
}

func (s simulator) writes(t *testing.T) uint64 {
	var n uint64
	for k, e := range s.stats(t).Endpoints {
		if !strings.HasPrefix(k, "GET ") {
			n += e.Requests
		}
	}
	return n
}

func (s simulator) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	r, err := http.Get(s.api + path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

var addrRe = regexp.MustCompile(`"addr":"([^"]+)"`)

// startDaemon runs `serve` against the simulator and returns its address once it logs it.
func startDaemon(t *testing.T, sim simulator, extra ...string) string {
	_, addr := startDaemonProc(t, sim, extra...)
	return addr
}

// startDaemonProc is startDaemon with the process, for a test that kills it.
func startDaemonProc(t *testing.T, sim simulator, extra ...string) (*proc, string) {
	args := []string{"serve", "--log-format", "json", "--miro-api-url", sim.api, "--miro-scim-url", sim.scim}
	if !slices.Contains(extra, "--listen") {
		args = append(args, "--listen", "127.0.0.1:0")
	}
	env := []string{"MIRO_ACCESS_TOKEN=sim-access-token", "MIRO_SCIM_TOKEN=sim-scim-token", "RUST_LOG=warn,rpc=off,miro_connector=info"}
	return start(t, addrRe, env, append(args, extra...)...)
}

func dial(t *testing.T, addr string, tlsConfig *tls.Config) *grpc.ClientConn {
	t.Helper()
	creds := insecure.NewCredentials()
	if tlsConfig != nil {
		creds = credentials.NewTLS(tlsConfig)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	waitReady(t, conn)
	return conn
}

func waitReady(t *testing.T, conn *grpc.ClientConn) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("daemon never became ready")
}

func must(t *testing.T, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}
