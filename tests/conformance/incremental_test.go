package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	sdksync "github.com/conductorone/baton-sdk/pkg/sync"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// simWrite changes the simulated organization through its own API, as another admin would.
func (s simulator) write(t *testing.T, method, path string, body any) {
	t.Helper()
	base, token := s.api, "sim-access-token"
	if strings.HasPrefix(path, "/Users") {
		base, token = s.scim, "sim-scim-token"
	}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	r, err := http.DefaultClient.Do(req)
	must(t, err, "%s %s", method, path)
	r.Body.Close()
	if r.StatusCode >= 300 {
		t.Fatalf("%s %s: HTTP %d", method, path, r.StatusCode)
	}
}

// merge lays a targeted sync over a full one: each targeted resource, its entitlements and the
// grants its own ListGrants lists (a user's: its role and license holdings) come from the partial.
// It merges the grants the connector lists; what the syncer's expansion derives from them (a
// team's access to a board, given to each team member) is derived again by the platform from the
// merged graph, so equal listed grants and annotations mean equal expansions.
func merge(full, partial contents, targets []*v2.Resource) contents {
	out := contents{types: full.types, resources: map[string]*v2.Resource{}, entitlements: map[string]bool{}, direct: map[string]bool{}}
	stale := func(id string) bool {
		for _, r := range targets {
			typ, rid := r.GetId().GetResourceType(), r.GetId().GetResource()
			if strings.HasPrefix(id, typ+":"+rid+":") {
				return true
			}
			if typ == "user" && strings.HasSuffix(id, ":user:"+rid) && (strings.HasPrefix(id, "role:") || strings.HasPrefix(id, "license:")) {
				return true
			}
		}
		return false
	}
	for k, v := range full.resources {
		out.resources[k] = v
	}
	for k, v := range partial.resources {
		out.resources[k] = v
	}
	for e := range full.entitlements {
		if !stale(e) {
			out.entitlements[e] = true
		}
	}
	for g := range full.direct {
		if !stale(g) {
			out.direct[g] = true
		}
	}
	for e := range partial.entitlements {
		out.entitlements[e] = true
	}
	for g := range partial.direct {
		out.direct[g] = true
	}
	return out
}

// The incremental loop: a full sync; changes made in Miro; the change feed read; a targeted sync
// (baton-sdk's WithTargetedSyncResources) of exactly what the feed named. Laid over the full sync,
// it equals a fresh full sync, for a fraction of its credits.
func TestIncrementalLoopThroughTheChangeFeed(t *testing.T) {
	sim := startSim(t)
	st, cs := sim.state(t), sim.content(t)
	conn := dial(t, startDaemon(t, sim, "--events", "--events-lag", "0s", "--content", "members"), nil)
	full := readC1Z(t, syncC1Z(t, conn))

	// A team no user group is assigned to, so the expansion of group memberships stays as it was.
	assigned := map[string]bool{}
	for _, g := range st.Groups {
		for _, tid := range g.Teams {
			assigned[tid] = true
		}
	}
	var teamID string
	for tid := range st.Teams {
		if !assigned[tid] && len(st.Teams[tid].Members) > 1 && (teamID == "" || tid < teamID) {
			teamID = tid
		}
	}
	var joiner, leaver, promoted, board string
	for uid, m := range st.Members {
		_, in := st.Teams[teamID].Members[uid]
		switch {
		case !m.Active || m.Role != "organization_internal_user":
		case !in && (joiner == "" || uid < joiner):
			joiner = uid
		case in && st.Teams[teamID].Members[uid].Role == "member" && (leaver == "" || uid < leaver):
			leaver = uid
		}
	}
	for uid, m := range st.Members {
		if m.Active && m.Role == "organization_internal_user" && uid != joiner && uid != leaver && (promoted == "" || uid < promoted) {
			promoted = uid
		}
	}
	for bid, b := range cs.Boards {
		if _, shared := b.Members[joiner]; !shared && (board == "" || bid < board) {
			board = bid
		}
	}
	if teamID == "" || joiner == "" || leaver == "" || promoted == "" || board == "" {
		t.Fatalf("the organization lacks what the test changes: team %q, users %q %q %q, board %q", teamID, joiner, leaver, promoted, board)
	}
	start := time.Now().Add(-time.Second)
	o := "/v2/orgs/" + st.ID
	sim.write(t, "POST", o+"/teams/"+teamID+"/members", map[string]any{"email": st.Members[joiner].Email})
	sim.write(t, "DELETE", o+"/teams/"+teamID+"/members/"+leaver, map[string]any{})
	sim.write(t, "PATCH", "/Users/"+promoted, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []map[string]any{{"op": "Replace", "path": "roles[primary eq true].value", "value": "ORGANIZATION_INTERNAL_ADMIN"}},
	})
	sim.write(t, "POST", "/v2/boards/"+board+"/members", map[string]any{"emails": []string{st.Members[joiner].Email}, "role": "editor"})
	sim.write(t, "PATCH", "/v2/boards/"+board, map[string]any{"policy": map[string]any{"sharingPolicy": map[string]any{"access": "edit"}}})

	// The change feed, read until caught up.
	events := v2.NewEventServiceClient(conn)
	seen := map[string]*v2.Resource{}
	cursor := ""
	for {
		req := v2.ListEventsRequest_builder{EventFeedId: "miro_changes", Cursor: cursor, PageSize: 2}
		if cursor == "" {
			req.StartAt = timestamppb.New(start)
		}
		page, err := events.ListEvents(context.Background(), req.Build())
		must(t, err, "list events")
		for _, e := range page.GetEvents() {
			c := e.GetResourceChangeEvent()
			if c == nil {
				t.Fatalf("not a change event: %v", e)
			}
			r := v2.Resource_builder{Id: c.GetResourceId(), ParentResourceId: c.GetParentResourceId()}.Build()
			seen[c.GetResourceId().GetResourceType()+"/"+c.GetResourceId().GetResource()] = r
		}
		cursor = page.GetCursor()
		if !page.GetHasMore() {
			break
		}
	}
	var named []string
	var targets []*v2.Resource
	for k, r := range seen {
		named = append(named, k)
		targets = append(targets, r)
	}
	sort.Strings(named)
	for _, want := range []string{"team/" + teamID, "user/" + promoted, "board/" + board} {
		if seen[want] == nil {
			t.Errorf("the change feed did not name %s: %v", want, named)
		}
	}

	before := sim.stats(t).Credits
	partial := readC1Z(t, syncC1Z(t, conn, sdksync.WithTargetedSyncResources(targets)))
	targeted := sim.stats(t).Credits - before
	fresh := readC1Z(t, syncC1Z(t, conn))
	fullCost := sim.stats(t).Credits - before - targeted
	merged := merge(full, partial, targets)

	sameSet(t, "entitlements", merged.entitlements, fresh.entitlements)
	sameSet(t, "listed grants", merged.direct, fresh.direct)
	if len(merged.resources) != len(fresh.resources) {
		t.Errorf("%d resources merged, %d in a fresh sync", len(merged.resources), len(fresh.resources))
	}
	for k, r := range fresh.resources {
		if !proto.Equal(withoutSkipGrants(merged.resources[k]), withoutSkipGrants(r)) {
			t.Errorf("resource %s differs from a fresh sync:\nmerged %v\nfresh  %v", k, merged.resources[k], r)
		}
	}
	t.Logf("the change feed named %d resources (%s); their targeted sync cost %d credits, a full sync %d (%.1f%%)",
		len(named), strings.Join(named, ", "), targeted, fullCost, 100*float64(targeted)/float64(fullCost))
}

// withoutSkipGrants is the resource without the one annotation a full sync's listing and a
// targeted sync's GetResource may differ by: a full sync lists users with SkipGrants (their role
// and license grants come from the roles' and licenses' own ListGrants), and a user fetched alone
// answers them itself. It is an instruction to the syncer, not something about the user.
func withoutSkipGrants(r *v2.Resource) *v2.Resource {
	if r == nil {
		return nil
	}
	out := proto.Clone(r).(*v2.Resource)
	var kept []*anypb.Any
	for _, a := range out.GetAnnotations() {
		if !a.MessageIs(&v2.SkipGrants{}) {
			kept = append(kept, a)
		}
	}
	out.SetAnnotations(kept)
	return out
}
