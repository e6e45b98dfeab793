package conformance

// The exact checks every sync is held to: what the official reader finds in a .c1z, against the
// simulator's organization (full syncs) or against one targeted resource (partial syncs).

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/annotations"
	"github.com/conductorone/baton-sdk/pkg/connectorclient"
	"github.com/conductorone/baton-sdk/pkg/dotc1z"
	sdksync "github.com/conductorone/baton-sdk/pkg/sync"
	"github.com/conductorone/baton-sdk/pkg/types"
	"google.golang.org/grpc"
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
	// direct: the grants the connector listed (not only derived by the syncer's expansion).
	direct map[string]bool
}

func readC1Z(t *testing.T, path string) contents {
	t.Helper()
	ctx := context.Background()
	f, err := dotc1z.NewStore(ctx, path, dotc1z.WithTmpDir(t.TempDir()), dotc1z.WithReadOnly(true))
	must(t, err, "open c1z")
	defer f.Close(ctx)
	c := contents{resources: map[string]*v2.Resource{}, entitlements: map[string]bool{}, grants: map[string]bool{}, direct: map[string]bool{}}
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
			if src := g.GetSources().GetSources(); len(src) == 0 || src[g.GetEntitlement().GetId()] != nil {
				c.direct[g.GetId()] = true
			}
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
	// Custom admin roles are listed (from SCIM's users), and so are their entitlements.
	for name := range customRoles(st) {
		entitlements["role:"+roleID(name)+":assigned"] = true
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
	// Boards and Spaces are listed as types whether content access is on or not (checkContent
	// checks their resources); the rest are these.
	var types []string
	for _, ty := range c.types {
		if !isContent(ty) {
			types = append(types, ty)
		}
	}
	if strings.Join(types, ",") != "group,license,organization,role,team,user" {
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
		case "organization":
			if r.GetId().GetResource() != st.ID || r.GetDisplayName() != st.Name {
				t.Errorf("%s: display name %q, want the organization %s %q", key, r.GetDisplayName(), st.ID, st.Name)
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
		count["role"] != 7+len(custom) || count["license"] != len(licenses) || count["organization"] != 1 {
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
		// A role brings its holders, read from Miro (no member listing of a targeted sync is kept).
		{"role", "admin_role_user_admin", map[string]bool{"role:admin_role_user_admin:assigned": true}, having(func(g string) bool {
			return strings.HasPrefix(g, "role:admin_role_user_admin:assigned:user:")
		})},
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
