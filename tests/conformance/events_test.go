package conformance

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// auditEvent is what the tests read of the simulator's audit log.
type auditEvent struct {
	ID        string `json:"id"`
	Event     string `json:"event"`
	CreatedBy struct {
		ID string `json:"id"`
	} `json:"createdBy"`
	Object struct {
		ID string `json:"id"`
	} `json:"object"`
}

// auditLog reads the simulator's whole audit log as Miro's clients read it (over HTTP, by cursor).
func (s simulator) auditLog(t *testing.T) []auditEvent {
	t.Helper()
	var out []auditEvent
	cursor := ""
	for {
		q := url.Values{
			"createdAfter":  {time.Now().Add(-90 * 24 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")},
			"createdBefore": {time.Now().Add(time.Minute).UTC().Format("2006-01-02T15:04:05.000Z")},
			"limit":         {"500"},
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req, _ := http.NewRequest(http.MethodGet, s.api+"/v2/audit/logs?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer sim-access-token")
		r, err := http.DefaultClient.Do(req)
		must(t, err, "read the audit log")
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		var page struct {
			Data   []auditEvent `json:"data"`
			Cursor string       `json:"cursor"`
		}
		must(t, json.Unmarshal(b, &page), "decode the audit log: %s", b)
		out = append(out, page.Data...)
		if page.Cursor == "" {
			return out
		}
		cursor = page.Cursor
	}
}

// usageWanted is what the usage feed must say of the log: event id -> "actor target".
func usageWanted(log []auditEvent, orgID string) map[string]string {
	want := map[string]string{}
	for _, e := range log {
		switch e.Event {
		case "sign_in_succeeded":
			want[e.ID] = "user:" + e.CreatedBy.ID + " organization:" + orgID
		case "board_opened":
			want[e.ID] = "user:" + e.CreatedBy.ID + " board:" + e.Object.ID
		}
	}
	return want
}

func usageSaid(t *testing.T, events []*v2.Event) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, e := range events {
		u := e.GetUsageEvent()
		if u == nil {
			t.Fatalf("not a usage event: %v", e)
		}
		if _, twice := got[e.GetId()]; twice {
			t.Errorf("event %s said twice", e.GetId())
		}
		id := func(r *v2.Resource) string { return r.GetId().GetResourceType() + ":" + r.GetId().GetResource() }
		got[e.GetId()] = id(u.GetActorResource()) + " " + id(u.GetTargetResource())
	}
	return got
}

func sameMap(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: nothing expected, so nothing proven", what)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s is %q, want %q", what, k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d events, want %d", what, len(got), len(want))
	}
}

// The runner's one-shot --event-feed prints every event of a feed, read page after page.
func TestBridgeOneShotEventFeed(t *testing.T) {
	sim := startSim(t)
	st := sim.state(t)
	addr := startDaemon(t, sim, "--events", "--events-lag", "0s", "--content", "sharing")
	caps := mustBridge(t, "capabilities", "--connector-addr", addr)
	if !strings.Contains(caps, "CAPABILITY_EVENT_FEED_V2") {
		t.Fatalf("capabilities lack the event feed:\n%s", tail(caps))
	}
	start := time.Now().Add(-100 * 24 * time.Hour).UTC().Format(time.RFC3339)
	out := mustBridge(t, "--connector-addr", addr, "-f", t.TempDir()+"/events.c1z",
		"--event-feed=true", "--event-feed-id", "miro_usage", "--event-feed-start-at", start)
	var events []*v2.Event
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, `{"id"`) {
			continue
		}
		e := &v2.Event{}
		must(t, protojson.Unmarshal([]byte(line), e), "read a printed event: %s", line)
		events = append(events, e)
	}
	sameMap(t, "one-shot usage feed", usageSaid(t, events), usageWanted(sim.auditLog(t), st.ID))

	// An unknown feed is the daemon's NOT_FOUND, naming the feeds there are.
	bad, err := runBridge(t, nil, "--connector-addr", addr, "-f", t.TempDir()+"/x.c1z", "--event-feed=true", "--event-feed-id", "nope")
	if err == nil || !strings.Contains(bad, "NotFound") || !strings.Contains(bad, "miro_usage") {
		t.Fatalf("an unknown feed did not fail with NOT_FOUND: %v\n%s", err, tail(bad))
	}
}

// Service mode: the tenant's list_event_feeds and list_events tasks, one ListEvents call each, the
// next task carrying the cursor the last one returned, until caught up.
func TestBridgeServiceModeEventFeeds(t *testing.T) {
	bridgeBin(t)
	sim := startSim(t)
	st := sim.state(t)
	addr := startDaemon(t, sim, "--events", "--events-lag", "0s", "--content", "sharing")
	dir := t.TempDir()
	c1, _, env := startFakeC1(t, dir)
	feeds := taskID("feeds")
	push := func(task *v1.Task) {
		c1.mu.Lock()
		c1.queue = append(c1.queue, task)
		c1.mu.Unlock()
	}
	push(v1.Task_builder{Id: feeds, ListEventFeeds: &v1.Task_ListEventFeedsTask{}}.Build())
	out := startServiceBridge(t, addr, dir, env)
	finished := func(id string) *v1.BatonServiceFinishTaskRequest {
		for {
			select {
			case got := <-c1.done:
				if got != id {
					continue
				}
				c1.mu.Lock()
				defer c1.mu.Unlock()
				r := c1.finished[id]
				if r.GetStatus().GetCode() != int32(codes.OK) {
					t.Fatalf("task %s: %v\n%s", id, r.GetStatus(), tail(out.String()))
				}
				return r
			case <-time.After(2 * time.Minute):
				t.Fatalf("task %s never finished:\n%s", id, tail(out.String()))
			}
		}
	}
	listed := &v2.ListEventFeedsResponse{}
	must(t, finished(feeds).GetSuccess().GetResponse().UnmarshalTo(listed), "read the feeds")
	var ids []string
	for _, f := range listed.GetList() {
		ids = append(ids, f.GetId())
	}
	if strings.Join(ids, ",") != "miro_usage,miro_changes" {
		t.Fatalf("feeds %v", ids)
	}
	var events []*v2.Event
	cursor := ""
	for calls := 0; ; calls++ {
		id := taskID("events")
		task := v1.Task_ListEventsTask_builder{EventFeedId: "miro_usage", Cursor: cursor, PageSize: 250}
		if cursor == "" {
			task.StartAt = timestamppb.New(time.Now().Add(-100 * 24 * time.Hour))
		}
		push(v1.Task_builder{Id: id, ListEvents: task.Build()}.Build())
		page := &v2.ListEventsResponse{}
		must(t, finished(id).GetSuccess().GetResponse().UnmarshalTo(page), "read the events")
		if len(page.GetEvents()) > 250 {
			t.Fatalf("%d events on a page of 250", len(page.GetEvents()))
		}
		events = append(events, page.GetEvents()...)
		cursor = page.GetCursor()
		if !page.GetHasMore() {
			if calls == 0 {
				t.Fatal("one page held the whole log: the cursor was never carried")
			}
			break
		}
	}
	sameMap(t, "service-mode usage feed", usageSaid(t, events), usageWanted(sim.auditLog(t), st.ID))
}
