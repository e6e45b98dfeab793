package conformance

// Service mode end to end, with no internet: a fake of ConductorOne's task service
// (c1.connectorapi.baton.v1.BatonService, from the SDK's protos) over TLS with a test CA, reached
// through BATON_C1_API_HOST. It answers the client-credentials token exchange the SDK makes first,
// then Hello, and hands out a full sync, a grant, a revoke, a create-account and a create-resource
// task; it receives the uploaded .c1z and the result of each task.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"github.com/go-jose/go-jose/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
)

const fakeToken = "fake-c1-access-token"

// fakeC1 is the tenant: a queue of tasks, and what came back.
type fakeC1 struct {
	v1.UnimplementedBatonServiceServer
	clientID string
	key      ed25519.PublicKey

	mu         sync.Mutex
	handed     int // tasks handed out and not finished: one at a time, so each sees the last one done
	tokens     int
	failTokens int // the next token requests answered 503, as a tenant's blip
	hellos     []*v1.BatonServiceHelloRequest
	queue      []*v1.Task
	uploads    map[string][]byte
	finished   map[string]*v1.BatonServiceFinishTaskRequest
	done       chan string
}

// token answers the SDK's client-credentials exchange: a JWT assertion signed with the secret.
func (f *fakeC1) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_id") != f.clientID {
		http.Error(w, "bad token request", http.StatusBadRequest)
		return
	}
	jws, err := jose.ParseSigned(r.Form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		http.Error(w, "bad assertion", http.StatusUnauthorized)
		return
	}
	if _, err := jws.Verify(f.key); err != nil {
		http.Error(w, "assertion not signed by the client secret", http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	if f.failTokens > 0 {
		f.failTokens--
		f.mu.Unlock()
		http.Error(w, "token service unavailable", http.StatusServiceUnavailable)
		return
	}
	f.tokens++
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fakeToken, "token_type": "Bearer", "expires_in": 3600})
}

func (f *fakeC1) authorize(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if a := md.Get("authorization"); len(a) != 1 || a[0] != "Bearer "+fakeToken {
		return status.Error(codes.Unauthenticated, "no valid access token")
	}
	return nil
}

func (f *fakeC1) Hello(ctx context.Context, r *v1.BatonServiceHelloRequest) (*v1.BatonServiceHelloResponse, error) {
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.hellos = append(f.hellos, r)
	f.mu.Unlock()
	return &v1.BatonServiceHelloResponse{}, nil
}

func (f *fakeC1) GetTask(ctx context.Context, _ *v1.BatonServiceGetTaskRequest) (*v1.BatonServiceGetTaskResponse, error) {
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	task := v1.Task_builder{None: &v1.Task_NoneTask{}}.Build()
	if len(f.queue) > 0 && f.handed == 0 {
		task, f.queue = f.queue[0], f.queue[1:]
		f.handed++
	}
	return v1.BatonServiceGetTaskResponse_builder{
		Task:          task,
		NextPoll:      durationpb.New(100 * time.Millisecond),
		NextHeartbeat: durationpb.New(30 * time.Second),
	}.Build(), nil
}

func (f *fakeC1) Heartbeat(ctx context.Context, _ *v1.BatonServiceHeartbeatRequest) (*v1.BatonServiceHeartbeatResponse, error) {
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	return v1.BatonServiceHeartbeatResponse_builder{NextHeartbeat: durationpb.New(30 * time.Second)}.Build(), nil
}

func (f *fakeC1) FinishTask(ctx context.Context, r *v1.BatonServiceFinishTaskRequest) (*v1.BatonServiceFinishTaskResponse, error) {
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.finished[r.GetTaskId()] = r
	f.handed--
	f.mu.Unlock()
	f.done <- r.GetTaskId()
	return &v1.BatonServiceFinishTaskResponse{}, nil
}

func (f *fakeC1) UploadAsset(s grpc.ClientStreamingServer[v1.BatonServiceUploadAssetRequest, v1.BatonServiceUploadAssetResponse]) error {
	if err := f.authorize(s.Context()); err != nil {
		return err
	}
	var task string
	var data []byte
	for {
		msg, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if m := msg.GetMetadata(); m != nil {
			task = m.GetTaskId()
		}
		data = append(data, msg.GetData().GetData()...)
	}
	f.mu.Lock()
	f.uploads[task] = data
	f.mu.Unlock()
	return s.SendAndClose(&v1.BatonServiceUploadAssetResponse{})
}

// testCA makes a CA and a server certificate for 127.0.0.1 signed by it.
func testCA(t *testing.T, dir string) (tls.Certificate, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake C1 test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	must(t, err, "CA certificate")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	caCert, _ := x509.ParseCertificate(caDER)
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	must(t, err, "server certificate")
	caFile := filepath.Join(dir, "c1-ca.pem")
	must(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600), "write CA")
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}, caFile
}

// startFakeC1 serves the token endpoint and BatonService on one TLS port, as the tenant's host does.
func startFakeC1(t *testing.T, dir string) (*fakeC1, string, []string) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	jwk, err := (&jose.JSONWebKey{Key: priv, Algorithm: string(jose.EdDSA)}).MarshalJSON()
	must(t, err, "client secret")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err, "listen")
	host := l.Addr().String()
	f := &fakeC1{clientID: "miro-bridge@" + host + "/pcc", key: pub,
		uploads: map[string][]byte{}, finished: map[string]*v1.BatonServiceFinishTaskRequest{}, done: make(chan string, 16)}
	g := grpc.NewServer()
	v1.RegisterBatonServiceServer(g, f)
	mux := http.NewServeMux()
	mux.HandleFunc("/auth/v1/token", f.token)
	cert, caFile := testCA(t, dir)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
				g.ServeHTTP(w, r)
				return
			}
			mux.ServeHTTP(w, r)
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}},
	}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	secret := "secret-token:conductorone.com:v1:" + base64.RawURLEncoding.EncodeToString(jwk)
	env := []string{"BATON_C1_API_HOST=" + host, "SSL_CERT_FILE=" + caFile, "BATON_CLIENT_ID=" + f.clientID, "BATON_CLIENT_SECRET=" + secret}
	return f, host, env
}

var taskSeq int

// taskID is a task id of the shape the service uses (27 letters and digits).
func taskID(kind string) string {
	taskSeq++
	id := strings.ToUpper(kind) + strings.Repeat("0", 27)
	return id[:27-3] + fmt.Sprintf("%03d", taskSeq)
}

func TestBridgeServiceModeAgainstAFakeTenant(t *testing.T) {
	bridgeBin(t)
	sim := startSim(t)
	st := sim.state(t)
	addr := startDaemon(t, sim, "--provisioning")
	dir := t.TempDir()
	c1, _, env := startFakeC1(t, dir)
	teamID, outsider, insider := teamAndUsers(t, st)
	team := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "team", Resource: teamID}.Build()}.Build()
	user := func(id string) *v2.Resource {
		return v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "user", Resource: id}.Build()}.Build()
	}
	entitlement := func(slug string) *v2.Entitlement {
		return v2.Entitlement_builder{Id: "team:" + teamID + ":" + slug, Resource: team, Slug: slug}.Build()
	}
	profile, _ := structpb.NewStruct(map[string]any{"email": "service+new@example.com", "first_name": "Serv", "last_name": "Ice"})
	ids := map[string]string{}
	for _, k := range []string{"sync", "grant", "revoke", "account", "group"} {
		ids[k] = taskID(k)
	}
	c1.mu.Lock()
	c1.queue = []*v1.Task{
		v1.Task_builder{Id: ids["sync"], SyncFull: &v1.Task_SyncFullTask{}}.Build(),
		v1.Task_builder{Id: ids["grant"], Grant: v1.Task_GrantTask_builder{Entitlement: entitlement("admin"), Principal: user(outsider)}.Build()}.Build(),
		v1.Task_builder{Id: ids["revoke"], Revoke: v1.Task_RevokeTask_builder{Grant: v2.Grant_builder{
			Id: "team:" + teamID + ":member:user:" + insider, Entitlement: entitlement("member"), Principal: user(insider)}.Build()}.Build()}.Build(),
		v1.Task_builder{Id: ids["account"], CreateAccount: v1.Task_CreateAccountTask_builder{
			AccountInfo:       v2.AccountInfo_builder{Profile: profile}.Build(),
			CredentialOptions: v2.CredentialOptions_builder{NoPassword: &v2.CredentialOptions_NoPassword{}}.Build(),
			ResourceTypeId:    "user",
		}.Build()}.Build(),
		v1.Task_builder{Id: ids["group"], CreateResource: v1.Task_CreateResourceTask_builder{Resource: v2.Resource_builder{
			Id: v2.ResourceId_builder{ResourceType: "group", Resource: "new"}.Build(), DisplayName: "Service Mode Reviewers"}.Build()}.Build()}.Build(),
	}
	c1.mu.Unlock()

	health := freeAddr(t)
	_, healthPort, _ := net.SplitHostPort(health)
	out := startServiceBridge(t, addr, dir, env, "--health-check", "--health-check-port", healthPort, "--health-check-bind-address", "127.0.0.1")
	for range ids {
		select {
		case <-c1.done:
		case <-time.After(3 * time.Minute):
			t.Fatalf("not every task finished:\n%s", tail(out.String()))
		}
	}
	c1.mu.Lock()
	defer c1.mu.Unlock()
	for kind, id := range ids {
		if s := c1.finished[id].GetStatus(); s.GetCode() != int32(codes.OK) {
			t.Errorf("%s task: %v", kind, s)
		}
	}
	if c1.tokens == 0 || len(c1.hellos) == 0 {
		t.Fatalf("%d token exchanges, %d hellos", c1.tokens, len(c1.hellos))
	}
	if caps := c1.hellos[0].GetConnectorMetadata().GetCapabilities(); len(caps.GetResourceTypeCapabilities()) == 0 {
		t.Errorf("Hello carried no capabilities: %v", c1.hellos[0].GetConnectorMetadata())
	}
	// The runner's own health check (an orchestrator's probe) reaches the daemon through the bridge.
	for _, endpoint := range []string{"live", "ready"} {
		if o, err := runBridge(t, nil, "health-check", "--health-check-port", healthPort, "--endpoint", endpoint); err != nil {
			t.Errorf("health-check --endpoint %s: %v\n%s", endpoint, err, tail(o))
		}
	}
	// The uploaded .c1z is the organization as it was at the sync.
	checkOrg(t, readC1Z(t, writeUpload(t, dir, c1.uploads[ids["sync"]])), st)
	// Each write landed.
	now := sim.state(t)
	if r := now.Teams[teamID].Members[outsider].Role; r != "admin" {
		t.Errorf("grant task: team role %q", r)
	}
	if _, in := now.Teams[teamID].Members[insider]; in {
		t.Error("revoke task: still a team member")
	}
	found := map[string]bool{}
	for _, m := range now.Members {
		found[m.Email] = true
	}
	for _, g := range now.Groups {
		found["group:"+g.Name] = true
	}
	if !found["service+new@example.com"] || !found["group:Service Mode Reviewers"] {
		t.Error("the create-account or create-resource task did not land")
	}
}

// writeUpload puts an uploaded .c1z where the reader can open it.
func writeUpload(t *testing.T, dir string, data []byte) string {
	t.Helper()
	c1z := filepath.Join(dir, fmt.Sprintf("uploaded-%d.c1z", time.Now().UnixNano()))
	must(t, os.WriteFile(c1z, data, 0o600), "write the upload")
	return c1z
}

// startServiceBridge runs the bridge in service mode (client id and secret from env) until the test ends.
func startServiceBridge(t *testing.T, addr, dir string, env []string, extra ...string) *lockedBuffer {
	t.Helper()
	cmd := exec.Command(bridgeBin(t), append([]string{"--connector-addr", addr, "--provisioning", "--c1z-temp-dir", dir}, extra...)...)
	cmd.Env = append(os.Environ(), env...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	must(t, cmd.Start(), "start the bridge in service mode")
	stopAtCleanup(t, cmd)
	return out
}

// A daemon started without --provisioning: the tenant hears the daemon's FAILED_PRECONDITION.
func TestBridgeServiceModeWritesRefusedByTheDaemon(t *testing.T) {
	bridgeBin(t)
	sim := startSim(t)
	addr := startDaemon(t, sim)
	dir := t.TempDir()
	c1, _, env := startFakeC1(t, dir)
	teamID, outsider, _ := teamAndUsers(t, sim.state(t))
	id := taskID("grant")
	team := v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "team", Resource: teamID}.Build()}.Build()
	c1.mu.Lock()
	c1.queue = []*v1.Task{v1.Task_builder{Id: id, Grant: v1.Task_GrantTask_builder{
		Entitlement: v2.Entitlement_builder{Id: "team:" + teamID + ":admin", Resource: team, Slug: "admin"}.Build(),
		Principal:   v2.Resource_builder{Id: v2.ResourceId_builder{ResourceType: "user", Resource: outsider}.Build()}.Build(),
	}.Build()}.Build()}
	c1.mu.Unlock()
	out := startServiceBridge(t, addr, dir, env)
	select {
	case <-c1.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the grant task never finished:\n%s", tail(out.String()))
	}
	c1.mu.Lock()
	defer c1.mu.Unlock()
	s := c1.finished[id].GetStatus()
	if s.GetCode() != int32(codes.FailedPrecondition) || !strings.Contains(s.GetMessage(), "start the connector with --provisioning") {
		t.Fatalf("the grant task finished with %v, not the daemon's FAILED_PRECONDITION", s)
	}
	if sim.writes(t) != 0 {
		t.Fatal("a refused grant wrote to Miro")
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
