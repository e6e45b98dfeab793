package conformance

// Service mode through blips: a tenant whose token endpoint answers 503 once, and a daemon that
// is not up for longer than --connector-wait when the runner starts. The bridge rides out both
// and runs its tasks. And the bridge's refusals: one line on stderr saying why.

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"google.golang.org/grpc/codes"
)

func TestServiceModeRidesOutATokenBlipAndALateDaemon(t *testing.T) {
	bridgeBin(t)
	sim := startSim(t)
	st := sim.state(t)
	dir := t.TempDir()
	c1, _, env := startFakeC1(t, dir)
	id := taskID("sync")
	c1.mu.Lock()
	c1.failTokens = 1
	c1.queue = []*v1.Task{v1.Task_builder{Id: id, SyncFull: &v1.Task_SyncFullTask{}}.Build()}
	c1.mu.Unlock()
	addr := freeAddr(t)
	out := startServiceBridge(t, addr, dir, env, "--connector-wait", "1s")
	// The daemon comes up well after --connector-wait has run out: Hello keeps retrying.
	time.Sleep(6 * time.Second)
	if strings.Contains(out.String(), "FailedPrecondition") || strings.Contains(out.String(), "giving up") {
		t.Fatalf("Hello gave up on a daemon that was not up yet:\n%s", tail(out.String()))
	}
	startDaemon(t, sim, "--listen", addr)
	select {
	case <-c1.done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("the sync task never finished:\n%s", tail(out.String()))
	}
	// The uploaded .c1z is the organization as it was at the sync.
	synced := c1.c1z(t, dir, id)
	c1.mu.Lock()
	defer c1.mu.Unlock()
	if s := c1.finished[id].GetStatus(); s.GetCode() != int32(codes.OK) {
		t.Fatalf("sync task: %v\n%s", s, tail(out.String()))
	}
	o := out.String()
	for _, want := range []string{
		"the runner exited",                // the token blip ended the first runner ...
		"starting it again",                // ... and the supervisor started another
		"startup Hello failed; will retry", // the daemon not up: UNAVAILABLE, retried
	} {
		if !strings.Contains(o, want) {
			t.Errorf("the bridge's output does not say %q:\n%s", want, tail(o))
		}
	}
	checkOrg(t, readC1Z(t, synced), st)
}

// Every refusal the bridge's flags can cause is one line on stderr that says why.
func TestTheBridgeSaysWhyItRefuses(t *testing.T) {
	bridgeBin(t)
	x := t.TempDir() + "/x.c1z"
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--connector-addr", "connector.invalid:50051", "-f", x}, "not a loopback address"},
		{[]string{"--connector-addr", "nonsense", "-f", x}, "is not host:port"},
		{[]string{"--connector-addr", "127.0.0.1:1", "--connector-wait", "soon", "-f", x}, "--connector-wait \"soon\" is not a positive duration"},
		{[]string{"--connector-addr", "127.0.0.1:1", "--connector-wait", "-5s", "-f", x}, "is not a positive duration"},
		{[]string{"--connector-addr", "127.0.0.1:1", "--connector-ca", "/nonexistent/ca.pem", "-f", x}, "--connector-ca"},
		{[]string{"--connector-addr", "127.0.0.1:1", "--connector-cert", "/nonexistent/c.pem", "-f", x}, "connector-key"},
		{[]string{"-f", x}, "connector-addr"},
		{[]string{"--no-such-flag"}, "unknown flag: --no-such-flag"},
	} {
		out, err := runBridge(t, nil, c.args...)
		if err == nil {
			t.Errorf("%v: the bridge did not refuse", c.args)
			continue
		}
		var said []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.HasPrefix(l, "baton-miro-bridge: ") {
				said = append(said, l)
			}
		}
		if len(said) != 1 || !strings.Contains(said[0], c.says) {
			t.Errorf("%v: want one line saying %q, got:\n%s", c.args, c.says, tail(out))
		}
	}
}

// An upload that fails all three of baton's attempts fails its sync task (baton's upload takes no
// retry policy from outside); what recovers it is the tenant's next sync, which succeeds.
func TestServiceModeAfterAnUploadThatFailsThreeTimes(t *testing.T) {
	bridgeBin(t)
	sim := startSim(t)
	st := sim.state(t)
	addr := startDaemon(t, sim)
	dir := t.TempDir()
	c1, _, env := startFakeC1(t, dir)
	failed, next := taskID("sync"), taskID("sync")
	c1.mu.Lock()
	c1.failUpload = 3
	c1.queue = []*v1.Task{syncTask(failed, nil), syncTask(next, nil)}
	c1.mu.Unlock()
	out := startServiceBridge(t, addr, t.TempDir(), env)
	waitFor(t, c1, out, 2, 3*time.Minute)
	c1.mu.Lock()
	if s := c1.finished[failed].GetStatus(); s.GetCode() == int32(codes.OK) {
		t.Errorf("a sync whose upload failed three times finished OK")
	}
	if s := c1.finished[next].GetStatus(); s.GetCode() != int32(codes.OK) {
		t.Errorf("the next sync: %v\n%s", s, tail(out.String()))
	}
	c1.mu.Unlock()
	checkOrg(t, readC1Z(t, c1.c1z(t, dir, next)), st)
}
