package conformance

// The official client (baton-sdk) against our daemon: its syncer writes a .c1z that its own reader
// reads back and that must hold exactly the simulator's organization; its provisioner and client
// drive the writes.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/provisioner"
	sdksync "github.com/conductorone/baton-sdk/pkg/sync"
	"github.com/conductorone/baton-sdk/pkg/utls"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestSyncOverPlaintextAndMutualTLS(t *testing.T) {
	sim := startSim(t)
	st := sim.state(t)

	conn := dial(t, startDaemon(t, sim), nil)
	checkOrg(t, readC1Z(t, syncC1Z(t, conn)), st)

	// Mutual TLS with the SDK's own throw-away credentials (Ed25519, IP SANs), as its
	// subprocess mode uses them.
	ctx := context.Background()
	clientCred, serverCred, err := utls.GenerateClientServerCredentials(ctx)
	must(t, err, "generate credentials")
	server := writeCred(t, t.TempDir(), serverCred)
	addr := startDaemon(t, sim, "--tls-cert", server.cert, "--tls-key", server.key, "--tls-client-ca", server.ca)
	tlsConfig, err := utls.ClientConfig(ctx, clientCred)
	must(t, err, "client TLS config")
	mtls := dial(t, addr, tlsConfig)
	checkOrg(t, readC1Z(t, syncC1Z(t, mtls)), st)
}

// baton-miro's ids on an organization, from its source (pkg/connector: user and team ids, the four
// org roles, `team:{id}:{role}` and `role:{id}:assigned` entitlements, grants
// `{entitlement}:user:{id}`). Ours must hold every one of them, so its users can switch.
func batonMiroIDs(st orgState) (resources, entitlements, grants map[string]bool) {
	resources, entitlements, grants = map[string]bool{}, map[string]bool{}, map[string]bool{}
	orgRoles := []string{"organization_internal_admin", "organization_internal_user", "organization_external_user", "organization_team_guest_user"}
	for _, r := range orgRoles {
		resources["role/"+r] = true
		entitlements["role:"+r+":assigned"] = true
	}
	for uid, m := range st.Members {
		resources["user/"+uid] = true
		for _, r := range orgRoles {
			if m.Role == r {
				grants["role:"+r+":assigned:user:"+uid] = true
			}
		}
	}
	for tid, team := range st.Teams {
		resources["team/"+tid] = true
		for _, r := range []string{"non_team", "member", "admin", "team_guest"} {
			entitlements["team:"+tid+":"+r] = true
		}
		for uid, m := range team.Members {
			grants["team:"+tid+":"+m.Role+":user:"+uid] = true
		}
	}
	return resources, entitlements, grants
}

func TestOursHoldEveryIdOfBatonMiro(t *testing.T) {
	sim := startSim(t)
	c := readC1Z(t, syncC1Z(t, dial(t, startDaemon(t, sim), nil)))
	resources, entitlements, grants := batonMiroIDs(sim.state(t))
	for what, pair := range map[string][2]map[string]bool{
		"resource": {resources, func() map[string]bool {
			out := map[string]bool{}
			for k := range c.resources {
				out[k] = true
			}
			return out
		}()},
		"entitlement": {entitlements, c.entitlements},
		"grant":       {grants, c.grants},
	} {
		missing := 0
		for id := range pair[0] {
			if !pair[1][id] {
				if missing++; missing <= 5 {
					t.Errorf("baton-miro's %s %s is missing", what, id)
				}
			}
		}
		t.Logf("%d of baton-miro's %ss, all held; ours add %d", len(pair[0]), what, len(pair[1])-len(pair[0]))
	}
}

func TestSyncThroughRateLimitsAndServerErrors(t *testing.T) {
	faults := filepath.Join(t.TempDir(), "faults.json")
	must(t, os.WriteFile(faults, []byte(`{"seed": 7, "rules": [
		{"error_rate": 0.15},
		{"endpoint": "/members", "burst": 3},
		{"endpoint": "/teams", "burst": 2, "burst_status": 503}
	]}`), 0o600), "write faults")
	sim := startSim(t, "--faults", faults, "--retry-after", "--rest-window", "3s")
	conn := dial(t, startDaemon(t, sim, "--miro-max-attempts", "8"), nil)
	checkOrg(t, readC1Z(t, syncC1Z(t, conn)), sim.state(t))
	stats := sim.stats(t)
	errors := uint64(0)
	for _, e := range stats.Endpoints {
		for code, n := range e.ByStatus {
			if code >= "500" {
				errors += n
			}
		}
	}
	if stats.RateLimited == 0 || errors == 0 {
		t.Fatalf("the simulator injected no faults: %d 429s, %d 5xx", stats.RateLimited, errors)
	}
	t.Logf("synced through %d 429s and %d 5xx answers", stats.RateLimited, errors)
}

// The parallel syncer on a budget squeezed so the sync spans several windows: each result equals
// the simulator, and Miro never answers 429.
func TestParallelWorkersHoldTheBudget(t *testing.T) {
	for _, workers := range []int{1, 4, 16} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			sim := startSim(t, "--rest-budget", "1500", "--rest-window", "2s")
			conn := dial(t, startDaemon(t, sim), nil)
			started := time.Now()
			checkOrg(t, readC1Z(t, syncC1Z(t, conn, sdksync.WithWorkerCount(workers))), sim.state(t))
			stats := sim.stats(t)
			if stats.RateLimited != 0 {
				t.Fatalf("%d workers: Miro answered 429 %d times", workers, stats.RateLimited)
			}
			t.Logf("%d workers: %d requests, %d credits, %.1f s, no 429", workers, stats.Requests, stats.Credits, time.Since(started).Seconds())
		})
	}
}

// Targeted syncs of one user, one team, one group and one role, as the platform runs them after a
// change: each partial .c1z holds the resource, its entitlements, and the grants its own ListGrants
// lists. Role and license holdings come with each user (from the profile, at no Miro cost), so a
// targeted sync of a role refreshes the role and its entitlement, not its holders: target the
// users, or run a full sync, to refresh who holds it. Likewise the groups assigned to a team are
// listed with each group: target the group to refresh them.
func TestTargetedSyncs(t *testing.T) {
	sim := startSim(t)
	st := sim.state(t)
	conn := dial(t, startDaemon(t, sim), nil)
	for _, c := range targetCases(t, st) {
		t.Run(c.typ, func(t *testing.T) {
			target := []*v2.Resource{v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: c.typ, Resource: c.id}.Build()}.Build()}
			checkTargeted(t, readC1Z(t, syncC1Z(t, conn, sdksync.WithTargetedSyncResources(target))), st, c)
		})
	}
}

func TestProvisioningThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	sim := startSim(t)
	conn := dial(t, startDaemon(t, sim, "--provisioning"), nil)
	cc := client(conn)
	c1z := syncC1Z(t, conn)
	st := sim.state(t)

	// A team and an active internal user outside it; a member of it to revoke.
	teamID, outsider, insider := teamAndUsers(t, st)

	run := func(what string, p *provisioner.Provisioner) {
		t.Helper()
		must(t, p.Run(ctx), "%s", what)
	}
	// Grant through the SDK's provisioner, twice: the second changes nothing.
	ent := "team:" + teamID + ":admin"
	run("grant", provisioner.NewGranter(cc, c1z, ent, outsider, "user"))
	if got := sim.state(t).Teams[teamID].Members[outsider].Role; got != "admin" {
		t.Fatalf("after grant, role %q", got)
	}
	writes := sim.writes(t)
	run("grant again", provisioner.NewGranter(cc, c1z, ent, outsider, "user"))
	if sim.writes(t) != writes {
		t.Fatal("a repeated grant wrote to Miro")
	}

	// Revoke a grant the sync stored, twice.
	grant := "team:" + teamID + ":member:user:" + insider
	run("revoke", provisioner.NewRevoker(cc, c1z, grant))
	if _, in := sim.state(t).Teams[teamID].Members[insider]; in {
		t.Fatal("still a team member after revoke")
	}
	writes = sim.writes(t)
	run("revoke again", provisioner.NewRevoker(cc, c1z, grant))
	if sim.writes(t) != writes {
		t.Fatal("a repeated revoke wrote to Miro")
	}

	// An org role through SCIM.
	run("grant admin", provisioner.NewGranter(cc, c1z, "role:organization_internal_admin:assigned", outsider, "user"))
	if got := sim.state(t).Members[outsider].Role; got != "organization_internal_admin" {
		t.Fatalf("org role %q", got)
	}

	// CreateAccount, called directly with NO_PASSWORD (the SDK's helper always sends a random password).
	profile, _ := structpb.NewStruct(map[string]any{"email": "conformance+new@example.com", "first_name": "Conny", "last_name": "Formance"})
	req := v2.CreateAccountRequest_builder{
		AccountInfo:       v2.AccountInfo_builder{Profile: profile}.Build(),
		CredentialOptions: v2.CredentialOptions_builder{NoPassword: &v2.CredentialOptions_NoPassword{}}.Build(),
		ResourceTypeId:    "user",
	}.Build()
	created, err := cc.CreateAccount(ctx, req)
	must(t, err, "create account")
	newID := created.GetSuccess().GetResource().GetId().GetResource()
	if newID == "" || sim.state(t).Members[newID].Email != "conformance+new@example.com" {
		t.Fatalf("create account: %v", created)
	}
	again, err := cc.CreateAccount(ctx, req)
	must(t, err, "create account again")
	if again.GetAlreadyExists().GetResource().GetId().GetResource() != newID {
		t.Fatalf("repeated create account: %v", again)
	}

	// Deprovision through the SDK's deleter (DeleteResource v1), twice.
	run("delete", provisioner.NewResourceDeleter(cc, c1z, outsider, "user"))
	if sim.state(t).Members[outsider].Active {
		t.Fatal("still active after deprovisioning")
	}
	run("delete again", provisioner.NewResourceDeleter(cc, c1z, outsider, "user"))
}

// Groups, group assignments, licenses and custom admin roles through the SDK's provisioner, each
// call twice: the second finds the state in place and writes nothing.
func TestGroupsLicensesAndCustomRolesThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	sim := startSim(t)
	conn := dial(t, startDaemon(t, sim, "--provisioning"), nil)
	cc := client(conn)
	c1z := syncC1Z(t, conn)
	st := sim.state(t)

	var group, assigned, unassigned, insider, outsider, basic string
	for gid, g := range st.Groups {
		if len(g.Teams) > 0 && len(g.Members) > 0 && (group == "" || gid < group) {
			group = gid
		}
	}
	g := st.Groups[group]
	assigned, insider = g.Teams[0], g.Members[0]
	in := func(list []string, x string) bool {
		for _, v := range list {
			if v == x {
				return true
			}
		}
		return false
	}
	for tid := range st.Teams {
		if !in(g.Teams, tid) && (unassigned == "" || tid < unassigned) {
			unassigned = tid
		}
	}
	for uid, m := range st.Members {
		if m.Active && m.Role == "organization_internal_user" && len(m.AdminRoles) == 0 {
			if !in(g.Members, uid) && (outsider == "" || uid < outsider) {
				outsider = uid
			}
			if m.License == "basic" && uid != outsider && (basic == "" || uid < basic) {
				basic = uid
			}
		}
	}
	if group == "" || unassigned == "" || outsider == "" || basic == "" {
		t.Fatal("no suitable group, team and users in the generated organization")
	}
	twice := func(what string, p func() *provisioner.Provisioner, holds func(orgState) bool) {
		t.Helper()
		must(t, p().Run(ctx), "%s", what)
		if !holds(sim.state(t)) {
			t.Fatalf("%s: the change is not in Miro", what)
		}
		writes := sim.writes(t)
		must(t, p().Run(ctx), "%s again", what)
		if sim.writes(t) != writes {
			t.Fatalf("%s again wrote to Miro", what)
		}
	}
	twice("add a group member", func() *provisioner.Provisioner {
		return provisioner.NewGranter(cc, c1z, "group:"+group+":member", outsider, "user")
	}, func(s orgState) bool { return in(s.Groups[group].Members, outsider) })
	twice("remove a group member", func() *provisioner.Provisioner {
		return provisioner.NewRevoker(cc, c1z, "group:"+group+":member:user:"+insider)
	}, func(s orgState) bool { return !in(s.Groups[group].Members, insider) })
	twice("assign the group to a team", func() *provisioner.Provisioner {
		return provisioner.NewGranter(cc, c1z, "team:"+unassigned+":member", group, "group")
	}, func(s orgState) bool { return in(s.Groups[group].Teams, unassigned) })
	twice("take the group off a team", func() *provisioner.Provisioner {
		return provisioner.NewRevoker(cc, c1z, "team:"+assigned+":member:group:"+group)
	}, func(s orgState) bool { return !in(s.Groups[group].Teams, assigned) })
	twice("upgrade to a Full license", func() *provisioner.Provisioner {
		return provisioner.NewGranter(cc, c1z, "license:full:assigned", basic, "user")
	}, func(s orgState) bool { return s.Members[basic].License == "full" })

	// Miro cannot take a license away: the revoke says how to free one.
	err := provisioner.NewRevoker(cc, c1z, "license:basic:assigned:user:"+basic).Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "deprovision") {
		t.Fatalf("revoking a license: %v", err)
	}

	// A custom admin role has no entitlement row (Miro cannot list admin roles), so the platform
	// grants it by id, as the client does.
	var custom string
	for name := range customRoles(st) {
		custom = name
	}
	roleRes := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "role", Resource: roleID(custom)}.Build()}.Build()
	ent := v2.Entitlement_builder{Resource: roleRes, Id: "role:" + roleID(custom) + ":assigned", Slug: "assigned"}.Build()
	user := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "user", Resource: outsider}.Build()}.Build()
	holds := func() bool {
		for _, a := range sim.state(t).Members[outsider].AdminRoles {
			if a.Name == custom {
				return true
			}
		}
		return false
	}
	for i := 0; i < 2; i++ {
		_, err := cc.Grant(ctx, v2.GrantManagerServiceGrantRequest_builder{Entitlement: ent, Principal: user}.Build())
		must(t, err, "grant custom role %q", custom)
		if !holds() {
			t.Fatalf("custom role %q not granted", custom)
		}
	}
	grant := v2.Grant_builder{Entitlement: ent, Principal: user, Id: "role:" + roleID(custom) + ":assigned:user:" + outsider}.Build()
	for i := 0; i < 2; i++ {
		_, err := cc.Revoke(ctx, v2.GrantManagerServiceRevokeRequest_builder{Grant: grant}.Build())
		must(t, err, "revoke custom role %q", custom)
		if holds() {
			t.Fatalf("custom role %q not revoked", custom)
		}
	}
}
