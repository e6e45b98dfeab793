package conformance

// A fake of ConductorOne's tenant, as strict as the real one: c1.connectorapi.baton.v1.BatonService
// from the SDK's protos, over TLS with a test CA, reached through BATON_C1_API_HOST. It checks
// every request against the protos' own validation rules and the client assertion's claims, hands
// out up to `slots` tasks at once, asks for heartbeats every `heartbeat`, cancels the tasks it is
// told to through their heartbeat, and can fail token requests, upload attempts and FinishTask
// calls. Every upload is kept with its checksum checked; none overwrites another.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
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
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

const fakeToken = "fake-c1-access-token"

// upload is one UploadAsset stream as it arrived.
type upload struct {
	data       []byte
	checksumOK bool
}

// fakeC1 is the tenant: a queue of tasks, and what came back.
type fakeC1 struct {
	v1.UnimplementedBatonServiceServer
	clientID, audience string
	key                ed25519.PublicKey
	slots              int           // tasks handed out at once (the runner runs three by default)
	heartbeat          time.Duration // the interval GetTask and Heartbeat ask for

	mu         sync.Mutex
	running    map[string]*v1.Task // handed out, not finished
	tokens     int
	failTokens int // the next token requests answered 503
	failUpload int // the next upload streams answered UNAVAILABLE
	failFinish map[string]bool
	cancel     map[string]bool // tasks whose next heartbeat says cancelled
	heartbeats map[string]int
	invalid    []string // requests that broke the protos' validation rules or the claims
	hellos     []*v1.BatonServiceHelloRequest
	queue      []*v1.Task
	uploads    map[string][]upload
	finished   map[string]*v1.BatonServiceFinishTaskRequest
	order      []string // task ids in the order they finished
	done       chan string
}

func (f *fakeC1) reject(what string) {
	f.mu.Lock()
	f.invalid = append(f.invalid, what)
	f.mu.Unlock()
}

// token answers the SDK's client-credentials exchange: a JWT assertion signed with the secret,
// whose claims name the client and this host, and are current.
func (f *fakeC1) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.failTokens > 0 {
		f.failTokens--
		f.mu.Unlock()
		http.Error(w, "token service unavailable", http.StatusServiceUnavailable)
		return
	}
	f.mu.Unlock()
	if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_id") != f.clientID ||
		r.Form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		f.reject("token request form")
		http.Error(w, "bad token request", http.StatusBadRequest)
		return
	}
	jws, err := jose.ParseSigned(r.Form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		f.reject("assertion: " + err.Error())
		http.Error(w, "bad assertion", http.StatusUnauthorized)
		return
	}
	payload, err := jws.Verify(f.key)
	if err != nil {
		f.reject("assertion signature")
		http.Error(w, "assertion not signed by the client secret", http.StatusUnauthorized)
		return
	}
	var claims jwt.Claims
	if err := json.Unmarshal(payload, &claims); err != nil {
		f.reject("assertion claims: " + err.Error())
		http.Error(w, "bad claims", http.StatusUnauthorized)
		return
	}
	now := time.Now()
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: f.clientID, Subject: f.clientID,
		AnyAudience: jwt.Audience{f.audience}, Time: now}, 5*time.Second); err != nil ||
		claims.Expiry == nil || claims.Expiry.Time().Sub(now) > 10*time.Minute || claims.IssuedAt == nil {
		f.reject(fmt.Sprintf("assertion claims %+v: %v", claims, err))
		http.Error(w, "assertion claims", http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
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

// validated checks a request against the rules its proto declares (protoc-gen-validate).
func (f *fakeC1) validated(method string, req any) error {
	if v, ok := req.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			f.reject(method + ": " + err.Error())
			return status.Error(codes.InvalidArgument, err.Error())
		}
	}
	return nil
}

type validatingStream struct {
	grpc.ServerStream
	f      *fakeC1
	method string
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.f.validated(s.method, m)
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
	if len(f.queue) > 0 && len(f.running) < f.slots {
		task, f.queue = f.queue[0], f.queue[1:]
		f.running[task.GetId()] = task
	}
	return v1.BatonServiceGetTaskResponse_builder{
		Task:          task,
		NextPoll:      durationpb.New(100 * time.Millisecond),
		NextHeartbeat: durationpb.New(f.heartbeat),
	}.Build(), nil
}

func (f *fakeC1) Heartbeat(ctx context.Context, r *v1.BatonServiceHeartbeatRequest) (*v1.BatonServiceHeartbeatResponse, error) {
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.heartbeats[r.GetTaskId()]++
	return v1.BatonServiceHeartbeatResponse_builder{
		NextHeartbeat: durationpb.New(f.heartbeat),
		Cancelled:     f.cancel[r.GetTaskId()],
	}.Build(), nil
}

// FinishTask records the result. A failure it is told to inject leaves the task unfinished, and
// the tenant hands it out again, as a real one does with a task whose result never arrived.
func (f *fakeC1) FinishTask(ctx context.Context, r *v1.BatonServiceFinishTaskRequest) (*v1.BatonServiceFinishTaskResponse, error) {
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	id := r.GetTaskId()
	task := f.running[id]
	delete(f.running, id)
	if f.failFinish[id] {
		delete(f.failFinish, id)
		if task != nil {
			f.queue = append([]*v1.Task{task}, f.queue...)
		}
		f.mu.Unlock()
		return nil, status.Error(codes.Unavailable, "the tenant could not record the result")
	}
	f.finished[id] = r
	f.order = append(f.order, id)
	f.mu.Unlock()
	f.done <- id
	return &v1.BatonServiceFinishTaskResponse{}, nil
}

func (f *fakeC1) UploadAsset(s grpc.ClientStreamingServer[v1.BatonServiceUploadAssetRequest, v1.BatonServiceUploadAssetResponse]) error {
	if err := f.authorize(s.Context()); err != nil {
		return err
	}
	f.mu.Lock()
	if f.failUpload > 0 {
		f.failUpload--
		f.mu.Unlock()
		return status.Error(codes.Unavailable, "the tenant's storage is unavailable")
	}
	f.mu.Unlock()
	var task string
	var data, sum []byte
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
		if e := msg.GetEof(); e != nil {
			sum = e.GetSha256Checksum()
		}
	}
	want := sha256.Sum256(data)
	f.mu.Lock()
	f.uploads[task] = append(f.uploads[task], upload{data: data, checksumOK: string(sum) == string(want[:])})
	f.mu.Unlock()
	return s.SendAndClose(&v1.BatonServiceUploadAssetResponse{})
}

// c1z is the one .c1z a sync task uploaded, written where the reader can open it. Every upload of
// the task must match its checksum, and any other (the runner's debug log) must leave it whole.
func (f *fakeC1) c1z(t *testing.T, dir, task string) string {
	t.Helper()
	f.mu.Lock()
	uploads := append([]upload(nil), f.uploads[task]...)
	f.mu.Unlock()
	var found []byte
	for i, u := range uploads {
		if !u.checksumOK {
			t.Errorf("task %s: upload %d does not match its checksum", task, i)
		}
		if strings.HasPrefix(string(u.data), "C1Z") {
			if found != nil {
				t.Fatalf("task %s uploaded two .c1z files", task)
			}
			found = u.data
		}
	}
	if found == nil {
		t.Fatalf("task %s uploaded no .c1z (%d uploads)", task, len(uploads))
	}
	return writeUpload(t, dir, found)
}

// writeUpload puts an uploaded .c1z where the reader can open it.
func writeUpload(t *testing.T, dir string, data []byte) string {
	t.Helper()
	c1z := filepath.Join(dir, fmt.Sprintf("uploaded-%d.c1z", time.Now().UnixNano()))
	must(t, os.WriteFile(c1z, data, 0o600), "write the upload")
	return c1z
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

// startFakeC1 serves the token endpoint and BatonService on one TLS port, as the tenant's host
// does: one task slot and 30 s heartbeats unless the test changes them before it starts the bridge.
// At the end, no request may have broken a validation rule.
func startFakeC1(t *testing.T, dir string) (*fakeC1, string, []string) {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	jwk, err := (&jose.JSONWebKey{Key: priv, Algorithm: string(jose.EdDSA)}).MarshalJSON()
	must(t, err, "client secret")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err, "listen")
	host := l.Addr().String()
	f := &fakeC1{clientID: "miro-bridge@" + host + "/pcc", audience: "127.0.0.1", key: pub, slots: 1, heartbeat: 30 * time.Second,
		running: map[string]*v1.Task{}, failFinish: map[string]bool{}, cancel: map[string]bool{}, heartbeats: map[string]int{},
		uploads: map[string][]upload{}, finished: map[string]*v1.BatonServiceFinishTaskRequest{}, done: make(chan string, 64)}
	g := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := f.validated(info.FullMethod, req); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(srv, &validatingStream{ServerStream: ss, f: f, method: info.FullMethod})
		}),
	)
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
	t.Cleanup(func() {
		f.mu.Lock()
		invalid := append([]string(nil), f.invalid...)
		f.mu.Unlock()
		for _, what := range invalid {
			t.Errorf("the tenant refused a request: %s", what)
		}
	})
	secret := "secret-token:conductorone.com:v1:" + base64.RawURLEncoding.EncodeToString(jwk)
	env := []string{"BATON_C1_API_HOST=" + host, "SSL_CERT_FILE=" + caFile, "BATON_CLIENT_ID=" + f.clientID, "BATON_CLIENT_SECRET=" + secret}
	return f, host, env
}
