package main

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeDaemon serves two services the way the daemon might answer: ListGrants rate limited, and
// an asset in three chunks. It records the metadata it was sent.
type fakeDaemon struct {
	v2.UnimplementedGrantsServiceServer
	v2.UnimplementedAssetServiceServer
	seen chan metadata.MD
}

func (d *fakeDaemon) ListGrants(ctx context.Context, _ *v2.GrantsServiceListGrantsRequest) (*v2.GrantsServiceListGrantsResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	d.seen <- md
	st, _ := status.New(codes.Unavailable, "Miro's rate limit: try again at reset_at").WithDetails(v2.RateLimitDescription_builder{
		Status:    v2.RateLimitDescription_STATUS_OVERLIMIT,
		Remaining: 0,
		ResetAt:   timestamppb.New(time.Unix(1_900_000_000, 0)),
	}.Build())
	return nil, st.Err()
}

func (d *fakeDaemon) GetAsset(_ *v2.AssetServiceGetAssetRequest, s grpc.ServerStreamingServer[v2.AssetServiceGetAssetResponse]) error {
	for _, chunk := range []string{"a", "bb", "ccc"} {
		msg := v2.AssetServiceGetAssetResponse_builder{
			Data: v2.AssetServiceGetAssetResponse_Data_builder{Data: []byte(chunk)}.Build(),
		}.Build()
		if err := s.Send(msg); err != nil {
			return err
		}
	}
	return nil
}

func startFake(t *testing.T) (*fakeDaemon, *forwarder) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDaemon{seen: make(chan metadata.MD, 1)}
	srv := grpc.NewServer()
	v2.RegisterGrantsServiceServer(srv, d)
	v2.RegisterAssetServiceServer(srv, d)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	f, err := dialDaemon(context.Background(), settings{addr: l.Addr().String(), wait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.log = zap.NewNop()
	return d, f
}

// The daemon's status reaches the runner whole: code, message and the RateLimitDescription the
// SDK's retryer reads; trace headers travel on.
func TestErrorsAndMetadataPassThroughUnchanged(t *testing.T) {
	d, f := startFake(t)
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(
		"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "content-type", "application/grpc", "user-agent", "x"))
	_, err := f.ListGrants(ctx, &v2.GrantsServiceListGrantsRequest{})
	st := status.Convert(err)
	if st.Code() != codes.Unavailable || st.Message() != "Miro's rate limit: try again at reset_at" {
		t.Fatalf("status %v", st)
	}
	var rl *v2.RateLimitDescription
	for _, d := range st.Details() {
		if r, ok := d.(*v2.RateLimitDescription); ok {
			rl = r
		}
	}
	if rl == nil || rl.GetStatus() != v2.RateLimitDescription_STATUS_OVERLIMIT || rl.GetResetAt().GetSeconds() != 1_900_000_000 {
		t.Fatalf("details %v", st.Details())
	}
	md := <-d.seen
	if got := md.Get("traceparent"); len(got) != 1 || got[0] != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Fatalf("traceparent %v", got)
	}
	if got := md.Get("user-agent"); len(got) != 1 || got[0] == "x" {
		t.Fatalf("the caller's user-agent was passed on as the bridge's own: %v", got)
	}
}

// A method the daemon does not serve answers UNIMPLEMENTED, as the daemon does, at once.
func TestUnservedMethodsAreUnimplemented(t *testing.T) {
	_, f := startFake(t)
	started := time.Now()
	_, err := f.ListEventFeeds(context.Background(), &v2.ListEventFeedsRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("%v", err)
	}
	if time.Since(started) > time.Second {
		t.Fatal("an UNIMPLEMENTED answer was waited on as if the daemon were down")
	}
}

type assetSink struct {
	grpc.ServerStream
	ctx    context.Context
	chunks []string
}

func (s *assetSink) Context() context.Context { return s.ctx }
func (s *assetSink) Send(m *v2.AssetServiceGetAssetResponse) error {
	s.chunks = append(s.chunks, string(m.GetData().GetData()))
	return nil
}

func TestAssetsStreamThrough(t *testing.T) {
	_, f := startFake(t)
	sink := &assetSink{ctx: context.Background()}
	if err := f.GetAsset(&v2.AssetServiceGetAssetRequest{}, sink); err != nil {
		t.Fatal(err)
	}
	if len(sink.chunks) != 3 || sink.chunks[2] != "ccc" {
		t.Fatalf("chunks %v", sink.chunks)
	}
}

// A daemon that never comes: the call fails once, FAILED_PRECONDITION (not retried for ever by
// the SDK), naming the address and the connection's own error.
func TestAnUnreachableDaemonFailsOnceItsWaitIsOver(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	f, err := dialDaemon(context.Background(), settings{addr: addr, wait: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.log = zap.NewNop()
	_, err = f.Validate(context.Background(), &v2.ConnectorServiceValidateRequest{})
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition || !contains(st.Message(), addr, "could not be reached for 500ms", "connection refused") {
		t.Fatalf("%v", st)
	}
	// GetMetadata (service mode's Hello) stays UNAVAILABLE, which Hello retries with backoff;
	// FAILED_PRECONDITION there would end the runner.
	_, err = f.GetMetadata(context.Background(), &v2.ConnectorServiceGetMetadataRequest{})
	st = status.Convert(err)
	if st.Code() != codes.Unavailable || !contains(st.Message(), addr, "could not be reached for 500ms") {
		t.Fatalf("GetMetadata: %v", st)
	}
	// The caller's own deadline ends the wait with the connection's error.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	f.s.wait = time.Minute
	_, err = f.Validate(ctx, &v2.ConnectorServiceValidateRequest{})
	if c := status.Code(err); c != codes.Unavailable && !errors.Is(err, context.DeadlineExceeded) && c != codes.DeadlineExceeded {
		t.Fatalf("%v", err)
	}
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
