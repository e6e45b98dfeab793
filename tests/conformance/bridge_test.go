package conformance

// baton-miro-bridge: ConductorOne's own runner (baton-sdk's CLI, one-shot mode) in front of the
// daemon. Its `.c1z` must hold exactly the simulator's organization, by the same check the syncer's
// own tests use, and each one-shot write, run twice, must change Miro once.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var bridgeBuild struct {
	once sync.Once
	path string
	err  error
}

// bridgeBin is the bridge built from this checkout (or BATON_MIRO_BRIDGE_BIN, as run.sh sets it).
func bridgeBin(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("BATON_MIRO_BRIDGE_BIN"); b != "" {
		return b
	}
	bridgeBuild.once.Do(func() {
		dir, _ := filepath.Abs("../../bridge")
		bridgeBuild.path = filepath.Join(os.TempDir(), fmt.Sprintf("baton-miro-bridge-%d", os.Getpid()))
		cmd := exec.Command("go", "build", "-o", bridgeBuild.path, ".")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			bridgeBuild.err = fmt.Errorf("go build the bridge: %v\n%s", err, out)
		}
	})
	if bridgeBuild.err != nil {
		t.Fatal(bridgeBuild.err)
	}
	return bridgeBuild.path
}

// runBridge runs the bridge once and returns what it printed.
func runBridge(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bridgeBin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// mustBridge runs the bridge and fails the test with its output when it fails.
func mustBridge(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runBridge(t, nil, args...)
	if err != nil {
		t.Fatalf("bridge %v: %v\n%s", args, err, tail(out))
	}
	return out
}

// tail keeps the end of a long output, where the error is.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

// c1zEngine names the format a .c1z was written in, from its magic bytes.
func c1zEngine(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	must(t, err, "read %s", path)
	switch {
	case bytes.HasPrefix(b, []byte("C1Z3")):
		return "pebble"
	case bytes.HasPrefix(b, []byte("C1ZF")):
		return "sqlite"
	}
	return fmt.Sprintf("unknown (%q)", b[:min(4, len(b))])
}

func TestBridgeOneShotSync(t *testing.T) {
	sim := startSim(t)
	st := sim.state(t)
	addr := startDaemon(t, sim)
	// `capabilities` reads them from the daemon's GetMetadata, as service mode's Hello does.
	caps := mustBridge(t, "capabilities", "--connector-addr", addr)
	for _, want := range []string{`"resourceTypeCapabilities"`, `"CAPABILITY_SYNC"`, `"CAPABILITY_TARGETED_SYNC"`} {
		if !strings.Contains(caps, want) {
			t.Fatalf("capabilities lack %s:\n%s", want, tail(caps))
		}
	}
	for _, engine := range []string{"pebble", "sqlite"} {
		for _, workers := range []string{"0", "16"} {
			t.Run(engine+"/workers="+workers, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "sync.c1z")
				mustBridge(t, "--connector-addr", addr, "-f", path, "--storage-engine", engine, "--workers", workers)
				if got := c1zEngine(t, path); got != engine {
					t.Fatalf("the .c1z is %s, want %s", got, engine)
				}
				checkOrg(t, readC1Z(t, path), st)
			})
		}
	}
}

// baton's --sync-resources (baton ids, `bid:r:{type}/{id}`) through the runner: each partial .c1z
// is checked as the syncer's own targeted syncs are.
func TestBridgeTargetedSyncs(t *testing.T) {
	sim := startSim(t)
	st := sim.state(t)
	addr := startDaemon(t, sim)
	for _, c := range targetCases(t, st) {
		t.Run(c.typ, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "partial.c1z")
			mustBridge(t, "--connector-addr", addr, "-f", path, "--sync-resources", "bid:r:"+c.typ+"/"+c.id)
			checkTargeted(t, readC1Z(t, path), st, c)
		})
	}
}

// teamAndUsers picks the smallest team, an active internal user outside it and a plain member of it.
func teamAndUsers(t *testing.T, st orgState) (teamID, outsider, insider string) {
	t.Helper()
	for tid, team := range st.Teams {
		if teamID == "" || len(team.Members) < len(st.Teams[teamID].Members) || (len(team.Members) == len(st.Teams[teamID].Members) && tid < teamID) {
			teamID = tid
		}
	}
	for uid, m := range st.Members {
		if _, in := st.Teams[teamID].Members[uid]; !in && m.Active && m.Role == "organization_internal_user" && (outsider == "" || uid < outsider) {
			outsider = uid
		}
	}
	for uid, m := range st.Teams[teamID].Members {
		if m.Role == "member" && (insider == "" || uid < insider) {
			insider = uid
		}
	}
	if teamID == "" || outsider == "" || insider == "" {
		t.Fatal("no suitable team and users in the generated organization")
	}
	return teamID, outsider, insider
}

func TestBridgeOneShotProvisioning(t *testing.T) {
	sim := startSim(t)
	addr := startDaemon(t, sim, "--provisioning")
	st := sim.state(t)
	teamID, outsider, insider := teamAndUsers(t, st)
	var group string
	for gid := range st.Groups {
		if group == "" || gid < group {
			group = gid
		}
	}
	// baton's one-shot writes look their entitlement, principal or grant up in the .c1z: sync first.
	c1z := filepath.Join(t.TempDir(), "sync.c1z")
	bridge := func(args ...string) string {
		return mustBridge(t, append([]string{"--connector-addr", addr, "-f", c1z}, args...)...)
	}
	bridge()
	// Each write twice: the second finds it done, and the simulator saw no second write.
	twice := func(what string, check func(orgState) error, args ...string) {
		t.Helper()
		bridge(args...)
		if err := check(sim.state(t)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		writes := sim.writes(t)
		bridge(args...)
		if got := sim.writes(t); got != writes {
			t.Fatalf("%s again wrote to Miro (%d writes, then %d)", what, writes, got)
		}
		if err := check(sim.state(t)); err != nil {
			t.Fatalf("%s again: %v", what, err)
		}
	}
	twice("grant", func(s orgState) error {
		if r := s.Teams[teamID].Members[outsider].Role; r != "admin" {
			return fmt.Errorf("team role %q, want admin", r)
		}
		return nil
	}, "--grant-entitlement", "team:"+teamID+":admin", "--grant-principal", outsider, "--grant-principal-type", "user")
	twice("revoke", func(s orgState) error {
		if _, in := s.Teams[teamID].Members[insider]; in {
			return fmt.Errorf("%s is still in team %s", insider, teamID)
		}
		return nil
	}, "--revoke-grant", "team:"+teamID+":member:user:"+insider)
	const email = "bridge+new@example.com"
	twice("create account", func(s orgState) error {
		for _, m := range s.Members {
			if m.Email == email {
				if m.GivenName != "Bri" || m.FamilyName != "Dge" {
					return fmt.Errorf("created as %q %q", m.GivenName, m.FamilyName)
				}
				return nil
			}
		}
		return fmt.Errorf("no member with email %s", email)
	}, "--create-account-email", email, "--create-account-login", email,
		"--create-account-profile", `{"first_name":"Bri","last_name":"Dge"}`)
	twice("deprovision", func(s orgState) error {
		if s.Members[outsider].Active {
			return fmt.Errorf("%s is still active", outsider)
		}
		return nil
	}, "--delete-resource", outsider, "--delete-resource-type", "user")
	twice("delete group", func(s orgState) error {
		if _, ok := s.Groups[group]; ok {
			return fmt.Errorf("group %s is still there", group)
		}
		return nil
	}, "--delete-resource", group, "--delete-resource-type", "group")
}

// A daemon started without --provisioning: the write fails with the daemon's own words.
func TestBridgeWritesRefusedByTheDaemon(t *testing.T) {
	sim := startSim(t)
	addr := startDaemon(t, sim)
	teamID, outsider, _ := teamAndUsers(t, sim.state(t))
	c1z := filepath.Join(t.TempDir(), "sync.c1z")
	mustBridge(t, "--connector-addr", addr, "-f", c1z)
	out, err := runBridge(t, nil, "--connector-addr", addr, "-f", c1z,
		"--grant-entitlement", "team:"+teamID+":admin", "--grant-principal", outsider, "--grant-principal-type", "user")
	if err == nil {
		t.Fatalf("the grant succeeded against a daemon without --provisioning:\n%s", tail(out))
	}
	if !strings.Contains(out, "FailedPrecondition") || !strings.Contains(out, "start the connector with --provisioning") {
		t.Fatalf("the grant did not fail with the daemon's FAILED_PRECONDITION:\n%s", tail(out))
	}
	if sim.writes(t) != 0 {
		t.Fatal("a refused grant wrote to Miro")
	}
}

// A feature the daemon does not serve yet (event feeds) answers the daemon's UNIMPLEMENTED through
// the runner, never a made-up success.
