package conformance

// Service mode end to end, with no internet: a fake of ConductorOne's task service
// (c1.connectorapi.baton.v1.BatonService, from the SDK's protos) over TLS with a test CA, reached
// through BATON_C1_API_HOST. It answers the client-credentials token exchange the SDK makes first,
// then Hello, and hands out a full sync, a grant, a revoke, a create-account and a create-resource
// task; it receives the uploaded .c1z and the result of each task.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"
)

var taskSeq int

// taskID is a task id of the shape the service uses (27 letters and digits).
func taskID(kind string) string {
	taskSeq++
	id := strings.ToUpper(kind) + strings.Repeat("0", 27)
	return id[:27-3] + fmt.Sprintf("%03d", taskSeq)
}

func TestBridgeServiceModeAgainstAFakeTenant(t *testing.T) {
	bridgeBin(t)
	sim := startSim(t)
	st := sim.state(t)
	addr := startDaemon(t, sim, "--provisioning")
	dir := t.TempDir()
	c1, _, env := startFakeC1(t, dir)
	teamID, outsider, insider := teamAndUsers(t, st)
	team := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "team", Resource: teamID}.Build()}.Build()
	user := func(id string) *v2.Resource {
		return v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "user", Resource: id}.Build()}.Build()
	}
	entitlement := func(slug string) *v2.Entitlement {
		return v2.Entitlement_builder{Id: "team:" + teamID + ":" + slug, Resource: team, Slug: slug}.Build()
	}
	profile, _ := structpb.NewStruct(map[string]any{"email": "service+new@example.com", "first_name": "Serv", "last_name": "Ice"})
	ids := map[string]string{}
	for _, k := range []string{"sync", "grant", "revoke", "account", "group"} {
		ids[k] = taskID(k)
	}
	c1.mu.Lock()
	c1.queue = []*v1.Task{
		v1.Task_builder{Id: ids["sync"], SyncFull: &v1.Task_SyncFullTask{}}.Build(),
		v1.Task_builder{Id: ids["grant"], Grant: v1.Task_GrantTask_builder{Entitlement: entitlement("admin"), Principal: user(outsider)}.Build()}.Build(),
		v1.Task_builder{Id: ids["revoke"], Revoke: v1.Task_RevokeTask_builder{Grant: v2.Grant_builder{
			Id: "team:" + teamID + ":member:user:" + insider, Entitlement: entitlement("member"), Principal: user(insider)}.Build()}.Build()}.Build(),
		v1.Task_builder{Id: ids["account"], CreateAccount: v1.Task_CreateAccountTask_builder{
			AccountInfo:       v2.AccountInfo_builder{Profile: profile}.Build(),
			CredentialOptions: v2.CredentialOptions_builder{NoPassword: &v2.CredentialOptions_NoPassword{}}.Build(),
			ResourceTypeId:    "user",
		}.Build()}.Build(),
		v1.Task_builder{Id: ids["group"], CreateResource: v1.Task_CreateResourceTask_builder{Resource: v2.Resource_builder{
			Id: v2.ResourceId_builder{ResourceType: "group", Resource: "new"}.Build(), DisplayName: "Service Mode Reviewers"}.Build()}.Build()}.Build(),
	}
	c1.mu.Unlock()

	health := freeAddr(t)
	_, healthPort, _ := net.SplitHostPort(health)
	out := startServiceBridge(t, addr, dir, env, "--health-check", "--health-check-port", healthPort, "--health-check-bind-address", "127.0.0.1")
	for range ids {
		select {
		case <-c1.done:
		case <-time.After(3 * time.Minute):
			t.Fatalf("not every task finished:\n%s", tail(out.String()))
		}
	}
	// The uploaded .c1z is the organization as it was at the sync.
	synced := c1.c1z(t, dir, ids["sync"])
	c1.mu.Lock()
	defer c1.mu.Unlock()
	for kind, id := range ids {
		if s := c1.finished[id].GetStatus(); s.GetCode() != int32(codes.OK) {
			t.Errorf("%s task: %v", kind, s)
		}
	}
	if c1.tokens == 0 || len(c1.hellos) == 0 {
		t.Fatalf("%d token exchanges, %d hellos", c1.tokens, len(c1.hellos))
	}
	if caps := c1.hellos[0].GetConnectorMetadata().GetCapabilities(); len(caps.GetResourceTypeCapabilities()) == 0 {
		t.Errorf("Hello carried no capabilities: %v", c1.hellos[0].GetConnectorMetadata())
	}
	// The runner's own health check (an orchestrator's probe) reaches the daemon through the bridge.
	for _, endpoint := range []string{"live", "ready"} {
		if o, err := runBridge(t, nil, "health-check", "--health-check-port", healthPort, "--endpoint", endpoint); err != nil {
			t.Errorf("health-check --endpoint %s: %v\n%s", endpoint, err, tail(o))
		}
	}
	// The uploaded .c1z is the organization as it was at the sync.
	// Each write landed.
	now := sim.state(t)
	if r := now.Teams[teamID].Members[outsider].Role; r != "admin" {
		t.Errorf("grant task: team role %q", r)
	}
	if _, in := now.Teams[teamID].Members[insider]; in {
		t.Error("revoke task: still a team member")
	}
	found := map[string]bool{}
	for _, m := range now.Members {
		found[m.Email] = true
	}
	for _, g := range now.Groups {
		found["group:"+g.Name] = true
	}
	if !found["service+new@example.com"] || !found["group:Service Mode Reviewers"] {
		t.Error("the create-account or create-resource task did not land")
	}
	checkOrg(t, readC1Z(t, synced), st)
}

// startServiceBridge runs the bridge in service mode (client id and secret from env) until the test ends.
func startServiceBridge(t *testing.T, addr, dir string, env []string, extra ...string) *lockedBuffer {
	t.Helper()
	cmd := exec.Command(bridgeBin(t), append([]string{"--connector-addr", addr, "--provisioning", "--c1z-temp-dir", dir}, extra...)...)
	cmd.Env = append(os.Environ(), env...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	must(t, cmd.Start(), "start the bridge in service mode")
	stopAtCleanup(t, cmd)
	return out
}

// A daemon started without --provisioning: the tenant hears the daemon's FAILED_PRECONDITION.
func TestBridgeServiceModeWritesRefusedByTheDaemon(t *testing.T) {
	bridgeBin(t)
	sim := startSim(t)
	addr := startDaemon(t, sim)
	dir := t.TempDir()
	c1, _, env := startFakeC1(t, dir)
	teamID, outsider, _ := teamAndUsers(t, sim.state(t))
	id := taskID("grant")
	team := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "team", Resource: teamID}.Build()}.Build()
	c1.mu.Lock()
	c1.queue = []*v1.Task{v1.Task_builder{Id: id, Grant: v1.Task_GrantTask_builder{
		Entitlement: v2.Entitlement_builder{Id: "team:" + teamID + ":admin", Resource: team, Slug: "admin"}.Build(),
		Principal:   v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "user", Resource: outsider}.Build()}.Build(),
	}.Build()}.Build()}
	c1.mu.Unlock()
	out := startServiceBridge(t, addr, dir, env)
	select {
	case <-c1.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the grant task never finished:\n%s", tail(out.String()))
	}
	c1.mu.Lock()
	defer c1.mu.Unlock()
	s := c1.finished[id].GetStatus()
	if s.GetCode() != int32(codes.FailedPrecondition) || !strings.Contains(s.GetMessage(), "start the connector with --provisioning") {
		t.Fatalf("the grant task finished with %v, not the daemon's FAILED_PRECONDITION", s)
	}
	if sim.writes(t) != 0 {
		t.Fatal("a refused grant wrote to Miro")
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
