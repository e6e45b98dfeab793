package main

// The forwarder: baton-sdk's runner serves a types.ConnectorServer; this one answers each of its
// 30 methods by calling the same RPC on the daemon and returning its answer unchanged. Errors are
// the daemon's gRPC statuses, details included (a RateLimitDescription reaches the SDK's retryer),
// and a method the daemon does not serve answers what the daemon answers: UNIMPLEMENTED.

import (
	"context"
	"errors"
	"io"
	"strings"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/types"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

type forwarder struct {
	c    types.ConnectorClient
	conn *grpc.ClientConn
	s    settings
	log  *zap.Logger
}

var _ types.ConnectorServer = (*forwarder)(nil)

// passOn copies the caller's metadata (trace headers and the like) onto the call to the daemon.
// The transport's own headers are not the caller's to pass: grpc sets them again for the next hop,
// and the deadline travels in the context.
func passOn(ctx context.Context) context.Context {
	in, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	out := metadata.MD{}
	for k, v := range in {
		switch {
		case strings.HasPrefix(k, ":"), strings.HasPrefix(k, "grpc-"),
			k == "content-type", k == "user-agent", k == "te", k == "authority":
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	return metadata.NewOutgoingContext(ctx, out)
}

// call forwards one unary RPC; an unreachable daemon fails it FAILED_PRECONDITION (see retrying).
func call[Req, Resp any](f *forwarder, ctx context.Context, req Req, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	return callGivingUp(f, ctx, codes.FailedPrecondition, req, rpc)
}

func callGivingUp[Req, Resp any](f *forwarder, ctx context.Context, gaveUp codes.Code, req Req, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error)) (Resp, error) {
	var resp Resp
	err := f.retrying(ctx, gaveUp, func(ctx context.Context) error {
		var err error
		resp, err = rpc(ctx, req)
		return err
	})
	return resp, err
}

func (f *forwarder) ListResourceTypes(ctx context.Context, r *v2.ResourceTypesServiceListResourceTypesRequest) (*v2.ResourceTypesServiceListResourceTypesResponse, error) {
	return call(f, ctx, r, f.c.ListResourceTypes)
}

func (f *forwarder) ListResources(ctx context.Context, r *v2.ResourcesServiceListResourcesRequest) (*v2.ResourcesServiceListResourcesResponse, error) {
	return call(f, ctx, r, f.c.ListResources)
}

func (f *forwarder) GetResource(ctx context.Context, r *v2.ResourceGetterServiceGetResourceRequest) (*v2.ResourceGetterServiceGetResourceResponse, error) {
	return call(f, ctx, r, f.c.GetResource)
}

func (f *forwarder) ListEntitlements(ctx context.Context, r *v2.EntitlementsServiceListEntitlementsRequest) (*v2.EntitlementsServiceListEntitlementsResponse, error) {
	return call(f, ctx, r, f.c.ListEntitlements)
}

func (f *forwarder) ListStaticEntitlements(ctx context.Context, r *v2.EntitlementsServiceListStaticEntitlementsRequest) (*v2.EntitlementsServiceListStaticEntitlementsResponse, error) {
	return call(f, ctx, r, f.c.ListStaticEntitlements)
}

func (f *forwarder) ListGrants(ctx context.Context, r *v2.GrantsServiceListGrantsRequest) (*v2.GrantsServiceListGrantsResponse, error) {
	return call(f, ctx, r, f.c.ListGrants)
}

// GetMetadata stays UNAVAILABLE while the daemon cannot be reached, so Hello retries (see retrying).
func (f *forwarder) GetMetadata(ctx context.Context, r *v2.ConnectorServiceGetMetadataRequest) (*v2.ConnectorServiceGetMetadataResponse, error) {
	return callGivingUp(f, ctx, codes.Unavailable, r, f.c.GetMetadata)
}

func (f *forwarder) Validate(ctx context.Context, r *v2.ConnectorServiceValidateRequest) (*v2.ConnectorServiceValidateResponse, error) {
	return call(f, ctx, r, f.c.Validate)
}

func (f *forwarder) Cleanup(ctx context.Context, r *v2.ConnectorServiceCleanupRequest) (*v2.ConnectorServiceCleanupResponse, error) {
	return call(f, ctx, r, f.c.Cleanup)
}

// GetAsset streams the daemon's chunks through as they come.
func (f *forwarder) GetAsset(r *v2.AssetServiceGetAssetRequest, out grpc.ServerStreamingServer[v2.AssetServiceGetAssetResponse]) error {
	in, err := f.c.GetAsset(passOn(out.Context()), r)
	if err != nil {
		return err
	}
	for {
		msg, err := in.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := out.Send(msg); err != nil {
			return err
		}
	}
}

func (f *forwarder) Grant(ctx context.Context, r *v2.GrantManagerServiceGrantRequest) (*v2.GrantManagerServiceGrantResponse, error) {
	return call(f, ctx, r, f.c.Grant)
}

func (f *forwarder) Revoke(ctx context.Context, r *v2.GrantManagerServiceRevokeRequest) (*v2.GrantManagerServiceRevokeResponse, error) {
	return call(f, ctx, r, f.c.Revoke)
}

func (f *forwarder) CreateResource(ctx context.Context, r *v2.CreateResourceRequest) (*v2.CreateResourceResponse, error) {
	return call(f, ctx, r, f.c.CreateResource)
}

func (f *forwarder) DeleteResource(ctx context.Context, r *v2.DeleteResourceRequest) (*v2.DeleteResourceResponse, error) {
	return call(f, ctx, r, f.c.DeleteResource)
}

func (f *forwarder) DeleteResourceV2(ctx context.Context, r *v2.DeleteResourceV2Request) (*v2.DeleteResourceV2Response, error) {
	return call(f, ctx, r, f.c.DeleteResourceV2)
}

func (f *forwarder) CreateAccount(ctx context.Context, r *v2.CreateAccountRequest) (*v2.CreateAccountResponse, error) {
	return call(f, ctx, r, f.c.CreateAccount)
}

func (f *forwarder) RotateCredential(ctx context.Context, r *v2.RotateCredentialRequest) (*v2.RotateCredentialResponse, error) {
	return call(f, ctx, r, f.c.RotateCredential)
}

func (f *forwarder) IssueCredential(ctx context.Context, r *v2.IssueCredentialRequest) (*v2.IssueCredentialResponse, error) {
	return call(f, ctx, r, f.c.IssueCredential)
}

func (f *forwarder) ListEvents(ctx context.Context, r *v2.ListEventsRequest) (*v2.ListEventsResponse, error) {
	return call(f, ctx, r, f.c.ListEvents)
}

func (f *forwarder) ListEventFeeds(ctx context.Context, r *v2.ListEventFeedsRequest) (*v2.ListEventFeedsResponse, error) {
	return call(f, ctx, r, f.c.ListEventFeeds)
}

func (f *forwarder) CreateTicket(ctx context.Context, r *v2.TicketsServiceCreateTicketRequest) (*v2.TicketsServiceCreateTicketResponse, error) {
	return call(f, ctx, r, f.c.CreateTicket)
}

func (f *forwarder) GetTicket(ctx context.Context, r *v2.TicketsServiceGetTicketRequest) (*v2.TicketsServiceGetTicketResponse, error) {
	return call(f, ctx, r, f.c.GetTicket)
}

func (f *forwarder) ListTicketSchemas(ctx context.Context, r *v2.TicketsServiceListTicketSchemasRequest) (*v2.TicketsServiceListTicketSchemasResponse, error) {
	return call(f, ctx, r, f.c.ListTicketSchemas)
}

func (f *forwarder) GetTicketSchema(ctx context.Context, r *v2.TicketsServiceGetTicketSchemaRequest) (*v2.TicketsServiceGetTicketSchemaResponse, error) {
	return call(f, ctx, r, f.c.GetTicketSchema)
}

func (f *forwarder) BulkCreateTickets(ctx context.Context, r *v2.TicketsServiceBulkCreateTicketsRequest) (*v2.TicketsServiceBulkCreateTicketsResponse, error) {
	return call(f, ctx, r, f.c.BulkCreateTickets)
}

func (f *forwarder) BulkGetTickets(ctx context.Context, r *v2.TicketsServiceBulkGetTicketsRequest) (*v2.TicketsServiceBulkGetTicketsResponse, error) {
	return call(f, ctx, r, f.c.BulkGetTickets)
}

func (f *forwarder) InvokeAction(ctx context.Context, r *v2.InvokeActionRequest) (*v2.InvokeActionResponse, error) {
	return call(f, ctx, r, f.c.InvokeAction)
}

func (f *forwarder) GetActionStatus(ctx context.Context, r *v2.GetActionStatusRequest) (*v2.GetActionStatusResponse, error) {
	return call(f, ctx, r, f.c.GetActionStatus)
}

func (f *forwarder) GetActionSchema(ctx context.Context, r *v2.GetActionSchemaRequest) (*v2.GetActionSchemaResponse, error) {
	return call(f, ctx, r, f.c.GetActionSchema)
}

func (f *forwarder) ListActionSchemas(ctx context.Context, r *v2.ListActionSchemasRequest) (*v2.ListActionSchemasResponse, error) {
	return call(f, ctx, r, f.c.ListActionSchemas)
}
