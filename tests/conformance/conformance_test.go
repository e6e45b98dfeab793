package conformance

// The official client (baton-sdk) against our daemon: its syncer writes a .c1z that its own reader
// reads back and that must hold exactly the simulator's organization; its provisioner and client
// drive the writes.

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorclient"
	"github.com/conductorone/baton-sdk/pkg/dotc1z"
	"github.com/conductorone/baton-sdk/pkg/provisioner"
	sdksync "github.com/conductorone/baton-sdk/pkg/sync"
	"github.com/conductorone/baton-sdk/pkg/types"
	"github.com/conductorone/baton-sdk/pkg/utls"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

func client(conn *grpc.ClientConn) types.ConnectorClient {
	return connectorclient.NewConnectorClient(context.Background(), conn)
}

// syncC1Z runs the official syncer with fail-fast invariants: a dangling reference or a bad
// exclusion group fails the suite.
func syncC1Z(t *testing.T, conn *grpc.ClientConn, opts ...sdksync.SyncOpt) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "sync.c1z")
	opts = append([]sdksync.SyncOpt{sdksync.WithC1ZPath(path), sdksync.WithTmpDir(dir), sdksync.WithFailFastInvariants()}, opts...)
	s, err := sdksync.NewSyncer(ctx, client(conn), opts...)
	must(t, err, "new syncer")
	must(t, s.Sync(ctx), "sync")
	must(t, s.Close(ctx), "close syncer")
	return path
}

type contents struct {
	types        []string
	resources    map[string]*v2.Resource
	entitlements map[string]bool
	grants       map[string]bool
}

func readC1Z(t *testing.T, path string) contents {
	t.Helper()
	ctx := context.Background()
	f, err := dotc1z.NewStore(ctx, path, dotc1z.WithTmpDir(t.TempDir()), dotc1z.WithReadOnly(true))
	must(t, err, "open c1z")
	defer f.Close(ctx)
	c := contents{resources: map[string]*v2.Resource{}, entitlements: map[string]bool{}, grants: map[string]bool{}}
	for tok := ""; ; {
		r, err := f.ListResourceTypes(ctx, v2.ResourceTypesServiceListResourceTypesRequest_builder{PageToken: tok}.Build())
		must(t, err, "read resource types")
		for _, rt := range r.GetList() {
			c.types = append(c.types, rt.GetId())
		}
		if tok = r.GetNextPageToken(); tok == "" {
			break
		}
	}
	sort.Strings(c.types)
	for _, rt := range c.types {
		for tok := ""; ; {
			r, err := f.ListResources(ctx, v2.ResourcesServiceListResourcesRequest_builder{ResourceTypeId: rt, PageToken: tok}.Build())
			must(t, err, "read resources")
			for _, res := range r.GetList() {
				c.resources[res.GetId().GetResourceType()+"/"+res.GetId().GetResource()] = res
			}
			if tok = r.GetNextPageToken(); tok == "" {
				break
			}
		}
	}
	for tok := ""; ; {
		r, err := f.ListEntitlements(ctx, v2.EntitlementsServiceListEntitlementsRequest_builder{PageToken: tok}.Build())
		must(t, err, "read entitlements")
		for _, e := range r.GetList() {
			c.entitlements[e.GetId()] = true
		}
		if tok = r.GetNextPageToken(); tok == "" {
			break
		}
	}
	for tok := ""; ; {
		r, err := f.ListGrants(ctx, v2.GrantsServiceListGrantsRequest_builder{PageToken: tok}.Build())
		must(t, err, "read grants")
		for _, g := range r.GetList() {
			c.grants[g.GetId()] = true
		}
		if tok = r.GetNextPageToken(); tok == "" {
			break
		}
	}
	return c
}

var adminRoleIDs = map[string]string{
	"Content Admin":  "admin_role_content_admin",
	"User Admin":     "admin_role_user_admin",
	"Security Admin": "admin_role_security_admin",
}

// roleID is the role resource of an admin role: prebuilt by name, custom as the README documents.
func roleID(name string) string {
	if id, ok := adminRoleIDs[name]; ok {
		return id
	}
	return "admin_role_custom_" + base64.RawURLEncoding.EncodeToString([]byte(name))
}

var licenses = []string{"advanced", "standard", "basic", "full", "occasional", "free", "free_restricted", "full_trial", "unknown"}

// expected gives the entitlements and the grants the connector lists (direct), and the grants the
// syncer's expansion derives from groups assigned to teams: each member of the group holds the
// team's membership.
func expected(st orgState) (entitlements, direct, expanded map[string]bool) {
	entitlements, direct, expanded = map[string]bool{}, map[string]bool{}, map[string]bool{}
	for tid, team := range st.Teams {
		for _, r := range []string{"member", "admin", "non_team", "team_guest"} {
			entitlements["team:"+tid+":"+r] = true
		}
		for uid, m := range team.Members {
			direct["team:"+tid+":"+m.Role+":user:"+uid] = true
		}
	}
	for _, r := range []string{"organization_internal_admin", "organization_internal_user", "organization_external_user",
		"organization_team_guest_user", "admin_role_content_admin", "admin_role_user_admin", "admin_role_security_admin"} {
		entitlements["role:"+r+":assigned"] = true
	}
	for _, l := range licenses {
		entitlements["license:"+l+":assigned"] = true
	}
	for uid, m := range st.Members {
		if m.Role != "unknown" {
			direct["role:"+m.Role+":assigned:user:"+uid] = true
		}
		for _, a := range m.AdminRoles {
			direct["role:"+roleID(a.Name)+":assigned:user:"+uid] = true
		}
		direct["license:"+m.License+":assigned:user:"+uid] = true
	}
	for gid, g := range st.Groups {
		entitlements["group:"+gid+":member"] = true
		for _, uid := range g.Members {
			direct["group:"+gid+":member:user:"+uid] = true
		}
		for _, tid := range g.Teams {
			direct["team:"+tid+":member:group:"+gid] = true
			for _, uid := range g.Members {
				expanded["team:"+tid+":member:user:"+uid] = true
			}
		}
	}
	return entitlements, direct, expanded
}

func union(sets ...map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, s := range sets {
		for k := range s {
			out[k] = true
		}
	}
	return out
}

// customRoles are the custom admin roles the organization's members hold.
func customRoles(st orgState) map[string]bool {
	out := map[string]bool{}
	for _, m := range st.Members {
		for _, a := range m.AdminRoles {
			if a.Kind == "custom" {
				out[a.Name] = true
			}
		}
	}
	return out
}

func sameSet(t *testing.T, what string, got, want map[string]bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d, want %d", what, len(got), len(want))
	}
	missing, extra := 0, 0
	for k := range want {
		if !got[k] {
			if missing++; missing <= 5 {
				t.Errorf("%s: missing %s", what, k)
			}
		}
	}
	for k := range got {
		if !want[k] {
			if extra++; extra <= 5 {
				t.Errorf("%s: unexpected %s", what, k)
			}
		}
	}
}

// checkOrg compares what the SDK stored with the simulator's organization.
func checkOrg(t *testing.T, c contents, st orgState) {
	t.Helper()
	if strings.Join(c.types, ",") != "group,license,role,team,user" {
		t.Fatalf("resource types %v", c.types)
	}
	text := func(r *v2.Resource, key string) string {
		return r.GetProfile().GetFields()[key].GetStringValue()
	}
	count := map[string]int{}
	for key, r := range c.resources {
		kind := strings.SplitN(key, "/", 2)[0]
		count[kind]++
		annos := annotations.Annotations(r.GetAnnotations())
		switch kind {
		case "user":
			m, ok := st.Members[r.GetId().GetResource()]
			if !ok {
				t.Errorf("user %s is not in the organization", key)
				continue
			}
			ut := &v2.UserTrait{}
			if ok, err := annos.Pick(ut); !ok || err != nil {
				t.Errorf("%s has no UserTrait", key)
				continue
			}
			if ut.GetLogin() != m.Email || ut.GetEmails()[0].GetAddress() != m.Email {
				t.Errorf("%s: login %q, want %q", key, ut.GetLogin(), m.Email)
			}
			// baton-miro's profile key, kept for automations that read it.
			if text(r, "login") != m.Email || text(r, "license") != m.License {
				t.Errorf("%s: profile login %q, license %q", key, text(r, "login"), text(r, "license"))
			}
			want := m.Email
			if m.Role != "organization_external_user" && m.Role != "organization_team_guest_user" {
				want = m.GivenName + " " + m.FamilyName
				if m.DisplayName != "" {
					want = m.DisplayName
				}
			}
			if r.GetDisplayName() != want {
				t.Errorf("%s: display name %q, want %q", key, r.GetDisplayName(), want)
			}
			wantStatus := v2.UserTrait_Status_STATUS_ENABLED
			if !m.Active {
				wantStatus = v2.UserTrait_Status_STATUS_DISABLED
			}
			if ut.GetStatus().GetStatus() != wantStatus {
				t.Errorf("%s: status %v, want %v", key, ut.GetStatus().GetStatus(), wantStatus)
			}
		case "team":
			if !annos.Contains(&v2.GroupTrait{}) {
				t.Errorf("%s has no GroupTrait", key)
			}
			if team, ok := st.Teams[r.GetId().GetResource()]; !ok || team.Name != r.GetDisplayName() {
				t.Errorf("%s: display name %q", key, r.GetDisplayName())
			}
			if text(r, "id") != r.GetId().GetResource() {
				t.Errorf("%s: profile id %q", key, text(r, "id"))
			}
		case "group":
			if !annos.Contains(&v2.GroupTrait{}) {
				t.Errorf("%s has no GroupTrait", key)
			}
			if g, ok := st.Groups[r.GetId().GetResource()]; !ok || g.Name != r.GetDisplayName() {
				t.Errorf("%s: display name %q", key, r.GetDisplayName())
			}
		case "role", "license":
			if !annos.Contains(&v2.RoleTrait{}) {
				t.Errorf("%s has no RoleTrait", key)
			}
			if kind == "role" && (text(r, "role_id") != r.GetId().GetResource() || text(r, "role_name") != r.GetDisplayName()) {
				t.Errorf("%s: profile role_id %q, role_name %q", key, text(r, "role_id"), text(r, "role_name"))
			}
		}
	}
	custom := customRoles(st)
	if len(custom) == 0 {
		t.Fatal("the simulated organization holds no custom admin role")
	}
	for name := range custom {
		r, ok := c.resources["role/"+roleID(name)]
		if !ok || r.GetDisplayName() != name {
			t.Errorf("custom admin role %q was not inserted from its grants", name)
		}
	}
	if count["user"] != len(st.Members) || count["team"] != len(st.Teams) || count["group"] != len(st.Groups) ||
		count["role"] != 7+len(custom) || count["license"] != len(licenses) {
		t.Errorf("resources: %v, want %d users, %d teams, %d groups, %d roles, %d licenses",
			count, len(st.Members), len(st.Teams), len(st.Groups), 7+len(custom), len(licenses))
	}
	ents, direct, expanded := expected(st)
	sameSet(t, "entitlements", c.entitlements, ents)
	// The syncer's expansion gives each group member the membership of the group's teams.
	sameSet(t, "grants", c.grants, union(direct, expanded))
	newByExpansion := 0
	for g := range expanded {
		if !direct[g] {
			newByExpansion++
		}
	}
	if newByExpansion == 0 {
		t.Error("no team membership comes from a group alone: the expansion check proves nothing")
	}
}

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
// targetCase is one targeted sync and exactly what its partial .c1z must hold.
type targetCase struct {
	typ, id      string
	entitlements map[string]bool
	grants       map[string]bool
}

// targetCases picks a user with admin roles, a team, an assigned group and a role to target.
func targetCases(t *testing.T, st orgState) []targetCase {
	t.Helper()
	_, direct, _ := expected(st)
	var admin, team, group string
	for uid, m := range st.Members {
		if m.Role == "organization_internal_admin" && len(m.AdminRoles) > 0 && (admin == "" || uid < admin) {
			admin = uid
		}
	}
	for tid := range st.Teams {
		if team == "" || tid < team {
			team = tid
		}
	}
	for gid, g := range st.Groups {
		if len(g.Teams) > 0 && (group == "" || gid < group) {
			group = gid
		}
	}
	if admin == "" || team == "" || group == "" {
		t.Fatal("the simulated organization has no admin with admin roles, no team or no assigned group")
	}
	having := func(keep func(string) bool) map[string]bool {
		out := map[string]bool{}
		for g := range direct {
			if keep(g) {
				out[g] = true
			}
		}
		return out
	}
	return []targetCase{
		{"user", admin, map[string]bool{}, having(func(g string) bool {
			return (strings.HasPrefix(g, "role:") || strings.HasPrefix(g, "license:")) && strings.HasSuffix(g, ":user:"+admin)
		})},
		{"team", team, map[string]bool{
			"team:" + team + ":member": true, "team:" + team + ":admin": true,
			"team:" + team + ":non_team": true, "team:" + team + ":team_guest": true,
		}, having(func(g string) bool { return strings.HasPrefix(g, "team:"+team+":") && strings.Contains(g, ":user:") })},
		{"group", group, map[string]bool{"group:" + group + ":member": true}, having(func(g string) bool {
			return strings.HasPrefix(g, "group:"+group+":") || strings.HasSuffix(g, ":member:group:"+group)
		})},
		{"role", "admin_role_user_admin", map[string]bool{"role:admin_role_user_admin:assigned": true}, map[string]bool{}},
	}
}

// checkTargeted compares a partial .c1z with its case.
func checkTargeted(t *testing.T, got contents, st orgState, c targetCase) {
	t.Helper()
	_, direct, expanded := expected(st)
	if _, ok := got.resources[c.typ+"/"+c.id]; !ok {
		t.Fatalf("the targeted %s %s is not in the partial sync: %v", c.typ, c.id, len(got.resources))
	}
	sameSet(t, c.typ+" entitlements", got.entitlements, c.entitlements)
	// What the expansion derives from the listed grants may come along; nothing else may.
	listed := map[string]bool{}
	for g := range got.grants {
		if !expanded[g] || direct[g] {
			listed[g] = true
		}
	}
	sameSet(t, c.typ+" grants", listed, c.grants)
}

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

func TestWritesAreRefusedWithoutProvisioning(t *testing.T) {
	ctx := context.Background()
	sim := startSim(t)
	conn := dial(t, startDaemon(t, sim), nil)
	cc := client(conn)
	st := sim.state(t)
	var teamID, userID string
	for tid := range st.Teams {
		teamID = tid
	}
	for uid := range st.Members {
		userID = uid
	}
	team := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "team", Resource: teamID}.Build()}.Build()
	user := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "user", Resource: userID}.Build()}.Build()
	_, err := cc.Grant(ctx, v2.GrantManagerServiceGrantRequest_builder{
		Entitlement: v2.Entitlement_builder{Resource: team, Id: "team:" + teamID + ":member"}.Build(),
		Principal:   user,
	}.Build())
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("grant with provisioning off: %v", err)
	}
	_, err = cc.DeleteResource(ctx, v2.DeleteResourceRequest_builder{ResourceId: user.GetId()}.Build())
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("delete with provisioning off: %v", err)
	}
	if sim.writes(t) != 0 {
		t.Fatal("a refused write reached Miro")
	}
}
