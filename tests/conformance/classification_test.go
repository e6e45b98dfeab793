package conformance

// Board classification through the official client: with --content-classification, every board
// the syncer stores carries the simulator's label, its sharing recommendation, and whether the
// board is shared beyond it.

import "testing"

type classificationState struct {
	Classification struct {
		Enabled bool `json:"enabled"`
		Labels  []struct {
			ID                    string `json:"id"`
			Name                  string `json:"name"`
			SharingRecommendation string `json:"sharingRecommendation"`
		} `json:"labels"`
	} `json:"classification"`
	Boards map[string]struct {
		Classification string `json:"classification"`
		Sharing        struct {
			Access             string `json:"access"`
			TeamAccess         string `json:"teamAccess"`
			OrganizationAccess string `json:"organizationAccess"`
		} `json:"sharing"`
	} `json:"boards"`
}

// beyondLabel is the exposure rule, written apart from the connector's: anyone with the link is
// beyond the organization; the organization beyond the team; the team beyond its authorized members.
func beyondLabel(recommendation, link, team, org string) bool {
	open := func(l string) bool { return l != "private" }
	switch recommendation {
	case "ONLY_WITHIN_ORGANIZATION":
		return open(link)
	case "ONLY_WITHIN_TEAM":
		return open(link) || open(org)
	case "ONLY_WITH_AUTHORIZED_TEAM_MEMBERS":
		return open(link) || open(org) || open(team)
	}
	return false
}

func TestBoardClassificationThroughTheSDK(t *testing.T) {
	sim := startSim(t)
	var cs classificationState
	sim.getJSON(t, "/_sim/state", &cs)
	if !cs.Classification.Enabled || len(cs.Boards) == 0 {
		t.Fatal("the generated org classifies no boards: the check proves nothing")
	}
	conn := dial(t, startDaemon(t, sim, "--content", "sharing", "--content-classification"), nil)
	got := readC1Z(t, syncC1Z(t, conn))
	labelled, flagged := 0, 0
	for id, b := range cs.Boards {
		r, ok := got.resources["board/"+id]
		if !ok {
			t.Fatalf("board %s is not in the sync", id)
		}
		fields := r.GetProfile().GetFields()
		wantName, wantRec := "", ""
		for _, l := range cs.Classification.Labels {
			if l.ID == b.Classification {
				wantName, wantRec = l.Name, l.SharingRecommendation
			}
		}
		if name := fields["classification"].GetStringValue(); name != wantName {
			t.Errorf("board %s: label %q, the simulator says %q", id, name, wantName)
		}
		if wantName == "" {
			continue
		}
		labelled++
		if rec := fields["classification_sharing"].GetStringValue(); rec != wantRec {
			t.Errorf("board %s: recommendation %q, want %q", id, rec, wantRec)
		}
		want := beyondLabel(wantRec, b.Sharing.Access, b.Sharing.TeamAccess, b.Sharing.OrganizationAccess)
		if beyond := fields["shared_beyond_classification"].GetBoolValue(); beyond != want {
			t.Errorf("board %s: shared beyond its label %v, want %v", id, beyond, want)
		}
		if want {
			flagged++
		}
	}
	if labelled == 0 || flagged == 0 || labelled == len(cs.Boards) {
		t.Errorf("%d of %d boards labelled, %d beyond: the check proves little", labelled, len(cs.Boards), flagged)
	}
}
