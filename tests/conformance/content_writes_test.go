package conformance

// Every board and Space write through the SDK's provisioner, each twice: the repeat finds the state
// in place and writes nothing. And the link-access action through baton's runner (the bridge).

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/conductorone/baton-sdk/pkg/provisioner"
)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestContentProvisioningThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	// Four syncs in members mode outspend a minute of Miro's budget; the pacing is tested elsewhere.
	sim := startSim(t, "--rest-budget", "0")
	conn := dial(t, startDaemon(t, sim, "--provisioning", "--content", "members"), nil)
	cc := client(conn)
	c1z := syncC1Z(t, conn)
	st, cs := sim.state(t), sim.content(t)
	_, user, _ := teamAndUsers(t, st)
	group := sortedKeys(st.Groups)[0]

	// twice runs a write, then runs it again and checks the repeat wrote nothing.
	twice := func(what string, p func() *provisioner.Provisioner, check func() bool) {
		t.Helper()
		must(t, p().Run(ctx), "%s", what)
		if !check() {
			t.Fatalf("%s did not land", what)
		}
		writes := sim.writes(t)
		must(t, p().Run(ctx), "%s again", what)
		if sim.writes(t) != writes {
			t.Fatalf("%s, repeated, wrote to Miro", what)
		}
	}
	var board, teamBoard, orgBoard, space string
	for _, id := range sortedKeys(cs.Boards) {
		b := cs.Boards[id]
		if _, in := b.Members[user]; !in && b.Groups[group] == "" && board == "" {
			board = id
		}
		if b.Sharing.TeamAccess != "private" && teamBoard == "" && id != board {
			teamBoard = id
		}
		if b.Sharing.OrganizationAccess != "private" && orgBoard == "" && id != board && id != teamBoard {
			orgBoard = id
		}
	}
	for _, id := range sortedKeys(cs.Projects) {
		p := cs.Projects[id]
		if _, in := p.Members[user]; !in && p.Groups[group] == "" && p.TeamAccess == "view" && space == "" {
			space = id
		}
	}
	if board == "" || teamBoard == "" || orgBoard == "" || space == "" {
		t.Fatal("the generated organization lacks a board, a team- or org-shared board, or a Space to write to")
	}

	// Board members: share, then remove.
	twice("share a board", func() *provisioner.Provisioner {
		return provisioner.NewGranter(cc, c1z, "board:"+board+":editor", user, "user")
	}, func() bool { return sim.content(t).Boards[board].Members[user] == "editor" })
	twice("change a board member's role", func() *provisioner.Provisioner {
		return provisioner.NewGranter(cc, c1z, "board:"+board+":commenter", user, "user")
	}, func() bool { return sim.content(t).Boards[board].Members[user] == "commenter" })
	fresh := syncC1Z(t, conn)
	twice("remove a board member", func() *provisioner.Provisioner {
		return provisioner.NewRevoker(cc, fresh, "board:"+board+":commenter:user:"+user)
	}, func() bool { _, in := sim.content(t).Boards[board].Members[user]; return !in })

	// User groups: share, then unshare.
	twice("share a board with a group", func() *provisioner.Provisioner {
		return provisioner.NewGranter(cc, c1z, "board:"+board+":viewer", group, "group")
	}, func() bool { return sim.content(t).Boards[board].Groups[group] == "VIEWER" })
	fresh = syncC1Z(t, conn)
	twice("unshare a board from a group", func() *provisioner.Provisioner {
		return provisioner.NewRevoker(cc, fresh, "board:"+board+":viewer:group:"+group)
	}, func() bool { return sim.content(t).Boards[board].Groups[group] == "" })

	// Team and organization access: revoking the grant sets it to private.
	tb := cs.Boards[teamBoard]
	twice("revoke a team's access", func() *provisioner.Provisioner {
		return provisioner.NewRevoker(cc, c1z, "board:"+teamBoard+":"+levelRole(tb.Sharing.TeamAccess, "commenter")+":team:"+tb.TeamID)
	}, func() bool { return sim.content(t).Boards[teamBoard].Sharing.TeamAccess == "private" })
	ob := cs.Boards[orgBoard]
	twice("revoke the organization's access", func() *provisioner.Provisioner {
		return provisioner.NewRevoker(cc, c1z, "board:"+orgBoard+":"+levelRole(ob.Sharing.OrganizationAccess, "commenter")+":role:organization_internal_user")
	}, func() bool { return sim.content(t).Boards[orgBoard].Sharing.OrganizationAccess == "private" })

	// Spaces: a member, a group, and the team's access.
	twice("add a Space member", func() *provisioner.Provisioner {
		return provisioner.NewGranter(cc, c1z, "project:"+space+":commentator", user, "user")
	}, func() bool { return sim.content(t).Projects[space].Members[user] == "commentator" })
	twice("change a Space member's role", func() *provisioner.Provisioner {
		return provisioner.NewGranter(cc, c1z, "project:"+space+":editor", user, "user")
	}, func() bool { return sim.content(t).Projects[space].Members[user] == "editor" })
	twice("share a Space with a group", func() *provisioner.Provisioner {
		return provisioner.NewGranter(cc, c1z, "project:"+space+":editor", group, "group")
	}, func() bool { return sim.content(t).Projects[space].Groups[group] == "EDITOR" })
	fresh = syncC1Z(t, conn)
	twice("remove a Space member", func() *provisioner.Provisioner {
		return provisioner.NewRevoker(cc, fresh, "project:"+space+":editor:user:"+user)
	}, func() bool { _, in := sim.content(t).Projects[space].Members[user]; return !in })
	twice("unshare a Space from a group", func() *provisioner.Provisioner {
		return provisioner.NewRevoker(cc, fresh, "project:"+space+":editor:group:"+group)
	}, func() bool { return sim.content(t).Projects[space].Groups[group] == "" })
	twice("revoke a Space's team access", func() *provisioner.Provisioner {
		return provisioner.NewRevoker(cc, fresh, "project:"+space+":viewer:team:"+cs.Projects[space].TeamID)
	}, func() bool { return sim.content(t).Projects[space].TeamAccess == "private" })
}

// The link-access action through baton's runner (the bridge's one-shot --invoke-action): the
// simulator's board changes; a second run writes nothing.
func TestLinkAccessActionThroughTheRunner(t *testing.T) {
	sim := startSim(t)
	addr := startDaemon(t, sim, "--provisioning", "--content", "sharing")
	cs := sim.content(t)
	var board string
	for _, id := range sortedKeys(cs.Boards) {
		if cs.Boards[id].Sharing.Access == "private" {
			board = id
			break
		}
	}
	caps := mustBridge(t, "capabilities", "--connector-addr", addr)
	if !strings.Contains(caps, "CAPABILITY_ACTIONS") {
		t.Fatalf("capabilities lack CAPABILITY_ACTIONS:\n%s", tail(caps))
	}
	args, _ := json.Marshal(map[string]any{
		"resource": map[string]string{"resource_type_id": "board", "resource_id": board},
		"access":   "edit",
	})
	run := func() {
		t.Helper()
		path := filepath.Join(t.TempDir(), "action.c1z")
		out := mustBridge(t, "--connector-addr", addr, "-f", path, "--invoke-action", "set_link_access",
			"--invoke-action-resource-type", "board", "--invoke-action-args", string(args))
		if !strings.Contains(out, "BATON_ACTION_STATUS_COMPLETE") {
			t.Fatalf("the action did not complete:\n%s", tail(out))
		}
	}
	run()
	if got := sim.content(t).Boards[board].Sharing.Access; got != "edit" {
		t.Fatalf("link access %q after the action", got)
	}
	writes := sim.writes(t)
	run()
	if sim.writes(t) != writes {
		t.Fatal("the repeated action wrote to Miro")
	}
}
