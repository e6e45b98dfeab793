package conformance

// Boards and Spaces through the official client: each content mode syncs exactly what the
// simulator holds (with the expansions that give team, org and group members their access), with 1
// and 16 workers; targeted syncs of one board and one Space; every write path twice through the
// SDK's provisioner; the link-access action through the runner.

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	pb "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	sdksync "github.com/conductorone/baton-sdk/pkg/sync"
)

type contentState struct {
	Boards map[string]struct {
		TeamID  string `json:"teamId"`
		OwnerID string `json:"ownerId"`
		Sharing struct {
			Access             string `json:"access"`
			TeamAccess         string `json:"teamAccess"`
			OrganizationAccess string `json:"organizationAccess"`
		} `json:"sharing"`
		Members map[string]string `json:"members"`
		Groups  map[string]string `json:"groups"`
	} `json:"boards"`
	Projects map[string]struct {
		TeamID     string            `json:"teamId"`
		TeamAccess string            `json:"teamAccess"`
		Members    map[string]string `json:"members"`
		Groups     map[string]string `json:"groups"`
	} `json:"projects"`
}

func (s simulator) content(t *testing.T) contentState {
	t.Helper()
	var cs contentState
	s.getJSON(t, "/_sim/state", &cs)
	return cs
}

var orgAccessRoles = []string{"organization_internal_admin", "organization_internal_user"}

func levelRole(level, comment string) string {
	switch level {
	case "view":
		return "viewer"
	case "comment":
		return comment
	case "edit":
		return "editor"
	}
	return ""
}

func shareRole(role, comment string) string {
	return levelRole(map[string]string{"VIEWER": "view", "COMMENTER": "comment", "EDITOR": "edit"}[role], comment)
}

// expectedContent gives the content entitlements, the grants the connector lists, and those the
// expansion derives: a team's grant reaches its members and admins (and the members of groups
// assigned to it), the org's reaches internal users and admins, a group's its members.
func expectedContent(st orgState, cs contentState, members bool) (ents, direct, expanded map[string]bool) {
	ents, direct, expanded = map[string]bool{}, map[string]bool{}, map[string]bool{}
	teamUsers := map[string][]string{}
	for tid, team := range st.Teams {
		for uid, m := range team.Members {
			if m.Role == "member" || m.Role == "admin" {
				teamUsers[tid] = append(teamUsers[tid], uid)
			}
		}
	}
	for _, g := range st.Groups {
		for _, tid := range g.Teams {
			teamUsers[tid] = append(teamUsers[tid], g.Members...)
		}
	}
	var orgUsers []string
	for uid, m := range st.Members {
		if m.Role == orgAccessRoles[0] || m.Role == orgAccessRoles[1] {
			orgUsers = append(orgUsers, uid)
		}
	}
	reach := func(ent string, users []string) {
		for _, u := range users {
			expanded[ent+":user:"+u] = true
		}
	}
	for bid, b := range cs.Boards {
		for _, r := range []string{"viewer", "commenter", "editor", "coowner", "owner"} {
			ents["board:"+bid+":"+r] = true
		}
		if members {
			for uid, r := range b.Members {
				direct["board:"+bid+":"+r+":user:"+uid] = true
			}
		} else {
			direct["board:"+bid+":owner:user:"+b.OwnerID] = true
		}
		if r := levelRole(b.Sharing.TeamAccess, "commenter"); r != "" {
			direct["board:"+bid+":"+r+":team:"+b.TeamID] = true
			reach("board:"+bid+":"+r, teamUsers[b.TeamID])
		}
		if r := levelRole(b.Sharing.OrganizationAccess, "commenter"); r != "" {
			for _, role := range orgAccessRoles {
				direct["board:"+bid+":"+r+":role:"+role] = true
			}
			reach("board:"+bid+":"+r, orgUsers)
		}
		for gid, role := range b.Groups {
			r := shareRole(role, "commenter")
			direct["board:"+bid+":"+r+":group:"+gid] = true
			reach("board:"+bid+":"+r, st.Groups[gid].Members)
		}
	}
	for pid, p := range cs.Projects {
		for _, r := range []string{"owner", "coowner", "editor", "commentator", "viewer"} {
			ents["project:"+pid+":"+r] = true
		}
		if p.TeamAccess == "view" {
			direct["project:"+pid+":viewer:team:"+p.TeamID] = true
			reach("project:"+pid+":viewer", teamUsers[p.TeamID])
		}
		for gid, role := range p.Groups {
			r := shareRole(role, "commentator")
			direct["project:"+pid+":"+r+":group:"+gid] = true
			reach("project:"+pid+":"+r, st.Groups[gid].Members)
		}
		if members {
			for uid, r := range p.Members {
				direct["project:"+pid+":"+r+":user:"+uid] = true
			}
		}
	}
	return ents, direct, expanded
}

func isContent(id string) bool {
	return strings.HasPrefix(id, "board") || strings.HasPrefix(id, "project")
}

// split separates the boards and Spaces a sync holds from the rest, which checkOrg checks as ever.
func split(c contents) (base, content contents) {
	base = contents{resources: map[string]*pb.Resource{}, entitlements: map[string]bool{}, grants: map[string]bool{}}
	content = contents{resources: map[string]*pb.Resource{}, entitlements: map[string]bool{}, grants: map[string]bool{}}
	for _, t := range c.types {
		if isContent(t) {
			content.types = append(content.types, t)
		} else {
			base.types = append(base.types, t)
		}
	}
	for k, r := range c.resources {
		if isContent(k) {
			content.resources[k] = r
		} else {
			base.resources[k] = r
		}
	}
	for k := range c.entitlements {
		if isContent(k) {
			content.entitlements[k] = true
		} else {
			base.entitlements[k] = true
		}
	}
	for k := range c.grants {
		if isContent(k) {
			content.grants[k] = true
		} else {
			base.grants[k] = true
		}
	}
	return base, content
}

func checkContent(t *testing.T, c contents, st orgState, cs contentState, members bool) {
	t.Helper()
	if strings.Join(c.types, ",") != "board,project" {
		t.Fatalf("content resource types %v", c.types)
	}
	want := map[string]bool{}
	for bid, b := range cs.Boards {
		want["board/"+bid+" team/"+b.TeamID] = true
	}
	for pid, p := range cs.Projects {
		want["project/"+pid+" team/"+p.TeamID] = true
	}
	got := map[string]bool{}
	for k, r := range c.resources {
		got[k+" "+r.GetParentResourceId().GetResourceType()+"/"+r.GetParentResourceId().GetResource()] = true
	}
	sameSet(t, "boards and Spaces under their teams", got, want)
	ents, direct, expanded := expectedContent(st, cs, members)
	sameSet(t, "content entitlements", c.entitlements, ents)
	sameSet(t, "content grants", c.grants, union(direct, expanded))
	fresh := 0
	for g := range expanded {
		if !direct[g] {
			fresh++
		}
	}
	if fresh == 0 {
		t.Error("no access comes from a team, the org or a group alone: the expansion check proves nothing")
	}
}

func TestContentSyncsInEachMode(t *testing.T) {
	for _, mode := range []string{"sharing", "members"} {
		for _, workers := range []int{1, 16} {
			t.Run(fmt.Sprintf("%s/workers=%d", mode, workers), func(t *testing.T) {
				sim := startSim(t)
				conn := dial(t, startDaemon(t, sim, "--content", mode), nil)
				base, content := split(readC1Z(t, syncC1Z(t, conn, sdksync.WithWorkerCount(workers))))
				st := sim.state(t)
				checkOrg(t, base, st)
				checkContent(t, content, st, sim.content(t), mode == "members")
			})
		}
	}
}

// A targeted sync of one board and of one Space (addressed through its team, as Miro's API
// addresses it): the partial .c1z holds the resource, its five entitlements and its own grants.
func TestContentTargetedSyncs(t *testing.T) {
	sim := startSim(t)
	st, cs := sim.state(t), sim.content(t)
	conn := dial(t, startDaemon(t, sim, "--content", "members"), nil)
	_, direct, expanded := expectedContent(st, cs, true)
	var board, space string
	for id, b := range cs.Boards {
		if len(b.Groups) > 0 && b.Sharing.TeamAccess != "private" && (board == "" || id < board) {
			board = id
		}
	}
	for id, p := range cs.Projects {
		if len(p.Members) > 1 && (space == "" || id < space) {
			space = id
		}
	}
	if board == "" || space == "" {
		t.Fatal("no board shared with a group and its team, or no Space with members")
	}
	cases := []struct {
		typ, id, parent string
	}{{"board", board, ""}, {"project", space, cs.Projects[space].TeamID}}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			rb := pb.Resource_builder{Id: pb.ResourceId_builder{ResourceType: c.typ, Resource: c.id}.Build()}
			if c.parent != "" {
				rb.ParentResourceId = pb.ResourceId_builder{ResourceType: "team", Resource: c.parent}.Build()
			}
			got := readC1Z(t, syncC1Z(t, conn, sdksync.WithTargetedSyncResources([]*pb.Resource{rb.Build()})))
			if _, ok := got.resources[c.typ+"/"+c.id]; !ok {
				t.Fatalf("the targeted %s is not in the partial sync", c.typ)
			}
			prefix := c.typ + ":" + c.id + ":"
			ents, wantGrants, listed := map[string]bool{}, map[string]bool{}, map[string]bool{}
			for e := range got.entitlements {
				ents[e] = true
			}
			if len(ents) != 5 {
				t.Errorf("%d entitlements: %v", len(ents), ents)
			}
			for g := range direct {
				if strings.HasPrefix(g, prefix) {
					wantGrants[g] = true
				}
			}
			for g := range got.grants {
				if !expanded[g] || direct[g] {
					listed[g] = true
				}
			}
			if len(wantGrants) < 2 {
				t.Fatalf("the targeted %s has %d grants: the check proves little", c.typ, len(wantGrants))
			}
			sameSet(t, c.typ+" grants", listed, wantGrants)
		})
	}
}

// A sync filtered to content types while content access is off (a platform's filter from when it
// was on) completes, without boards or Spaces, rather than failing on an "invalid resource type".
func TestAContentTypeFilterWhileContentIsOff(t *testing.T) {
	sim := startSim(t)
	addr := startDaemon(t, sim)
	path := filepath.Join(t.TempDir(), "filtered.c1z")
	mustBridge(t, "--connector-addr", addr, "-f", path, "--sync-resource-types", "board,project,team")
	c := readC1Z(t, path)
	if strings.Join(c.types, ",") != "board,project,team" {
		t.Fatalf("resource types %v", c.types)
	}
	teams := 0
	for k := range c.resources {
		if isContent(k) {
			t.Fatalf("content off, yet %s was synced", k)
		}
		if strings.HasPrefix(k, "team/") {
			teams++
		}
	}
	if teams != len(sim.state(t).Teams) {
		t.Fatalf("%d teams synced, the organization has %d", teams, len(sim.state(t).Teams))
	}
}

// A targeted sync with one target the daemon cannot find (a Space sent without its team) syncs the
// others: the daemon answers NOT_FOUND, which baton-sdk skips with a warning naming the target,
// where any other code would fail the whole task.
func TestATargetedSyncWithOneBadTargetSyncsTheOthers(t *testing.T) {
	sim := startSim(t)
	st, cs := sim.state(t), sim.content(t)
	addr := startDaemon(t, sim, "--content", "sharing")
	var space, team string
	for id := range cs.Projects {
		if space == "" || id < space {
			space = id
		}
	}
	// A team other than the Space's: a targeted team brings its own boards and Spaces.
	for id := range st.Teams {
		if id != cs.Projects[space].TeamID && (team == "" || id < team) {
			team = id
		}
	}
	path := filepath.Join(t.TempDir(), "targeted.c1z")
	out := mustBridge(t, "--connector-addr", addr, "-f", path, "--sync-resources", "bid:r:project/"+space+",bid:r:team/"+team)
	got := readC1Z(t, path)
	if _, ok := got.resources["team/"+team]; !ok {
		t.Fatalf("the good target is not in the partial sync:\n%s", tail(out))
	}
	if _, ok := got.resources["project/"+space]; ok {
		t.Fatal("a Space without its team was synced")
	}
	if !strings.Contains(out, "skipping resource due to not found") || !strings.Contains(out, space) {
		t.Fatalf("the runner did not say which target it skipped:\n%s", tail(out))
	}
}
