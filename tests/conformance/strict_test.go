package conformance

// Service mode against a tenant as strict as a real one (tenant_test.go): three task slots, so a
// grant, a revoke and a targeted sync run while a sync of 10,000 members does; 1 s heartbeats; a
// resources-only sync; a debug log uploaded beside a .c1z; one failed upload attempt and one
// FinishTask failure; then a sync cancelled
// through its heartbeat, after which Miro hears nothing more from it, its temporary .c1z is gone,
// and the next task succeeds.

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"google.golang.org/grpc/codes"
)

// startBigSim is the simulator with 10,000 members under a budget that makes their sync last
// seconds (24,000 credits every 5 s: about 20 s for its 96,000 credits).
func startBigSim(t *testing.T) simulator {
	args := []string{"simulate", "--listen", "127.0.0.1:0", "--members", "10000", "--teams", "100", "--seed", "3",
		"--rest-budget", "24000", "--rest-window", "5s"}
	_, api := start(t, regexp.MustCompile(`REST\s+(http://\S+)`), nil, args...)
	return simulator{api: api, scim: api + "/api/v1/scim"}
}

func syncTask(id string, f func(b *v1.Task_SyncFullTask_builder)) *v1.Task {
	b := v1.Task_SyncFullTask_builder{}
	if f != nil {
		f(&b)
	}
	return v1.Task_builder{Id: id, SyncFull: b.Build()}.Build()
}

// waitFor waits for `n` tasks to finish.
func waitFor(t *testing.T, c1 *fakeC1, out *lockedBuffer, n int, within time.Duration) {
	t.Helper()
	for range n {
		select {
		case <-c1.done:
		case <-time.After(within):
			t.Fatalf("tasks did not finish:\n%s", tail(out.String()))
		}
	}
}

func TestServiceModeAgainstAStrictTenant(t *testing.T) {
	bridgeBin(t)
	sim := startBigSim(t)
	st := sim.state(t)
	addr := startDaemon(t, sim, "--provisioning")
	dir, tmp := t.TempDir(), t.TempDir()
	c1, _, env := startFakeC1(t, dir)
	teamID, outsider, insider := teamAndUsers(t, st)
	var groupCase targetCase
	for _, c := range targetCases(t, st) {
		if c.typ == "group" {
			groupCase = c
		}
	}
	team := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "team", Resource: teamID}.Build()}.Build()
	user := func(id string) *v2.Resource {
		return v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "user", Resource: id}.Build()}.Build()
	}
	entitlement := func(slug string) *v2.Entitlement {
		return v2.Entitlement_builder{Id: "team:" + teamID + ":" + slug, Resource: team, Slug: slug}.Build()
	}
	ids := map[string]string{}
	for _, k := range []string{"sync", "grant", "revoke", "targeted", "resources"} {
		ids[k] = taskID(k)
	}
	c1.mu.Lock()
	c1.slots, c1.heartbeat = 3, time.Second
	c1.failUpload = 1
	c1.failFinish[ids["grant"]] = true
	c1.queue = []*v1.Task{
		// Debug: the runner keeps a debug log for the task and uploads it beside the .c1z.
		v1.Task_builder{Id: ids["sync"], SyncFull: &v1.Task_SyncFullTask{}, Debug: true}.Build(),
		v1.Task_builder{Id: ids["grant"], Grant: v1.Task_GrantTask_builder{Entitlement: entitlement("admin"), Principal: user(outsider)}.Build()}.Build(),
		v1.Task_builder{Id: ids["revoke"], Revoke: v1.Task_RevokeTask_builder{Grant: v2.Grant_builder{
			Id: "team:" + teamID + ":member:user:" + insider, Entitlement: entitlement("member"), Principal: user(insider)}.Build()}.Build()}.Build(),
		syncTask(ids["targeted"], func(b *v1.Task_SyncFullTask_builder) {
			b.TargetedSyncResources = []*v2.Resource{v2.Resource_builder{
				Id: v2.ResourceId_builder{ResourceType: "group", Resource: groupCase.id}.Build()}.Build()}
		}),
		syncTask(ids["resources"], func(b *v1.Task_SyncFullTask_builder) { b.SkipEntitlementsAndGrants = true }),
	}
	c1.mu.Unlock()
	out := startServiceBridge(t, addr, tmp, env)
	waitFor(t, c1, out, len(ids), 4*time.Minute)

	c1.mu.Lock()
	for kind, id := range ids {
		if s := c1.finished[id].GetStatus(); s.GetCode() != int32(codes.OK) {
			t.Errorf("%s task: %v", kind, s)
		}
	}
	// The writes and the targeted sync ran while the long sync did.
	pos := map[string]int{}
	for i, id := range c1.order {
		pos[id] = i
	}
	for _, k := range []string{"grant", "revoke", "targeted"} {
		if pos[ids[k]] > pos[ids["sync"]] {
			t.Errorf("the %s task finished after the 10,000-member sync: not run beside it (%v)", k, c1.order)
		}
	}
	if c1.heartbeats[ids["sync"]] < 3 {
		t.Errorf("the sync sent %d heartbeats at 1 s intervals", c1.heartbeats[ids["sync"]])
	}
	c1.mu.Unlock()

	// Each write landed once: the grant ran twice (its first result never reached the tenant),
	// and its second run found it done.
	now := sim.state(t)
	if r := now.Teams[teamID].Members[outsider].Role; r != "admin" {
		t.Errorf("grant task: team role %q", r)
	}
	if _, in := now.Teams[teamID].Members[insider]; in {
		t.Error("revoke task: still a team member")
	}
	// The runner uploads the debug log of a debug task beside its .c1z, under the same task id:
	// both are kept, each matching its checksum, and c1z() below finds the .c1z whole.
	c1.mu.Lock()
	if n := len(c1.uploads[ids["sync"]]); n < 2 {
		t.Errorf("the sync task made %d uploads: no debug log beside its .c1z", n)
	}
	c1.mu.Unlock()
	if !strings.Contains(out.String(), "failed to upload asset") {
		t.Error("no upload attempt failed: the injected failure was not exercised")
	}
	// The long sync, exactly: the two memberships written beside it may be seen either way.
	full := readC1Z(t, c1.c1z(t, dir, ids["sync"]))
	raced := func(uid string) {
		members := st.Teams[teamID].Members
		delete(members, uid)
		for _, role := range []string{"member", "admin"} {
			if full.grants["team:"+teamID+":"+role+":user:"+uid] {
				members[uid] = struct {
					Role string `json:"role"`
				}{role}
			}
		}
	}
	raced(outsider)
	raced(insider)
	checkOrg(t, full, st)
	checkTargeted(t, readC1Z(t, c1.c1z(t, dir, ids["targeted"])), st, groupCase)
	checkResourcesOnly(t, readC1Z(t, c1.c1z(t, dir, ids["resources"])), now)

	// A sync cancelled through its heartbeat: Miro requests stop, its .c1z is gone, and the next
	// task succeeds.
	cancelID, nextID := taskID("cancel"), taskID("after")
	c1.mu.Lock()
	c1.queue = append(c1.queue, syncTask(cancelID, nil))
	c1.mu.Unlock()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		c1.mu.Lock()
		beats := c1.heartbeats[cancelID]
		if beats >= 2 {
			c1.cancel[cancelID] = true
		}
		c1.mu.Unlock()
		if beats >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sync to cancel never heartbeat:\n%s", tail(out.String()))
		}
	}
	waitFor(t, c1, out, 1, time.Minute)
	c1.mu.Lock()
	if s := c1.finished[cancelID].GetStatus(); s.GetCode() == int32(codes.OK) {
		t.Errorf("the cancelled sync finished OK")
	}
	c1.mu.Unlock()
	// A cancelled RPC calls off what the daemon read ahead at once; when the runner was between
	// calls, there is nothing to cancel, and the daemon calls it off once no RPC has been under
	// way for 0.25 s (docs/performance.md, "Read-ahead"). Past that, Miro hears nothing more.
	time.Sleep(time.Second)
	before := sim.stats(t)
	time.Sleep(3 * time.Second)
	if after := sim.stats(t); after.Requests != before.Requests {
		grew := []string{}
		for k, e := range after.Endpoints {
			if n := e.Requests - before.Endpoints[k].Requests; n > 0 {
				grew = append(grew, fmt.Sprintf("%s: %d", k, n))
			}
		}
		t.Errorf("Miro heard %d requests after the sync was cancelled (%v)", after.Requests-before.Requests, grew)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "baton-sdk-sync-upload*")); len(left) > 0 {
		t.Errorf("the cancelled sync left its .c1z behind: %v", left)
	}
	c1.mu.Lock()
	c1.queue = append(c1.queue, v1.Task_builder{Id: nextID, Revoke: v1.Task_RevokeTask_builder{Grant: v2.Grant_builder{
		Id: "team:" + teamID + ":admin:user:" + outsider, Entitlement: entitlement("admin"), Principal: user(outsider)}.Build()}.Build()}.Build())
	c1.mu.Unlock()
	waitFor(t, c1, out, 1, time.Minute)
	c1.mu.Lock()
	if s := c1.finished[nextID].GetStatus(); s.GetCode() != int32(codes.OK) {
		t.Errorf("the task after the cancellation: %v", s)
	}
	c1.mu.Unlock()
	if _, in := sim.state(t).Teams[teamID].Members[outsider]; in {
		t.Error("the task after the cancellation did not land")
	}
}

// checkResourcesOnly compares a resources-only sync with the organization: every resource, and no
// entitlement or grant.
func checkResourcesOnly(t *testing.T, c contents, st orgState) {
	t.Helper()
	count := map[string]int{}
	for key := range c.resources {
		count[strings.SplitN(key, "/", 2)[0]]++
	}
	custom := customRoles(st)
	for name := range custom {
		if _, ok := c.resources["role/"+roleID(name)]; !ok {
			t.Errorf("resources-only sync: custom admin role %q is missing", name)
		}
	}
	if count["user"] != len(st.Members) || count["team"] != len(st.Teams) || count["group"] != len(st.Groups) ||
		count["role"] != 7+len(custom) || count["license"] != len(licenses) {
		t.Errorf("resources-only sync: %v, want %d users, %d teams, %d groups, %d roles, %d licenses",
			count, len(st.Members), len(st.Teams), len(st.Groups), 7+len(custom), len(licenses))
	}
	if len(c.grants) != 0 || len(c.entitlements) != 0 {
		t.Errorf("resources-only sync holds %d entitlements and %d grants", len(c.entitlements), len(c.grants))
	}
}
