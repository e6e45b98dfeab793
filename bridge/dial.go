package main

// The connection to the daemon: plaintext to loopback only, TLS or mutual TLS otherwise; dialled
// lazily, because the runner calls the connector function in its parent process, in the
// `_connector-service` child and in `capabilities`, and the child must serve within the parent's
// 5 s dial window whether or not the daemon is up yet.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/conductorone/baton-sdk/pkg/connectorclient"
	"github.com/grpc-ecosystem/go-grpc-middleware/logging/zap/ctxzap"
	"github.com/spf13/viper"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

type settings struct {
	addr, ca, cert, key, serverName string
	wait                            time.Duration
}

func settingsFrom(v *viper.Viper) (settings, error) {
	s := settings{
		addr:       strings.TrimSpace(v.GetString(addrField.FieldName)),
		ca:         v.GetString(caField.FieldName),
		cert:       v.GetString(certField.FieldName),
		key:        v.GetString(keyField.FieldName),
		serverName: v.GetString(serverNameField.FieldName),
	}
	wait, err := time.ParseDuration(v.GetString(waitField.FieldName))
	if err != nil || wait <= 0 {
		return s, fmt.Errorf("--connector-wait %q is not a positive duration (e.g. 60s)", v.GetString(waitField.FieldName))
	}
	s.wait = wait
	host, _, err := net.SplitHostPort(s.addr)
	if err != nil {
		return s, fmt.Errorf("--connector-addr %q is not host:port: %w", s.addr, err)
	}
	if !s.tls() && !loopback(host) {
		return s, fmt.Errorf("--connector-addr %s is not a loopback address, and without --connector-ca (or --connector-cert/--connector-key) "+
			"the bridge would send the daemon's traffic in plaintext: use TLS, or run the daemon beside the bridge on 127.0.0.1", s.addr)
	}
	return s, nil
}

func (s settings) tls() bool {
	return s.ca != "" || s.cert != "" || s.serverName != ""
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s settings) credentials() (credentials.TransportCredentials, error) {
	if !s.tls() {
		return insecure.NewCredentials(), nil
	}
	cfg, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	return credentials.NewTLS(cfg), nil
}

func (s settings) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.serverName, NextProtos: []string{"h2"}}
	if s.ca != "" {
		pem, err := os.ReadFile(s.ca)
		if err != nil {
			return nil, fmt.Errorf("--connector-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--connector-ca %s holds no PEM certificate", s.ca)
		}
		cfg.RootCAs = pool
	}
	if s.cert != "" {
		pair, err := tls.LoadX509KeyPair(s.cert, s.key)
		if err != nil {
			return nil, fmt.Errorf("--connector-cert/--connector-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// tlsProblem names what a TLS handshake of its own meets, or "" when it meets nothing TLS. Under
// TLS 1.3 the daemon refuses a client certificate only after the client's side of the handshake is
// done, so gRPC's first write can meet a reset socket ("broken pipe") and never read the daemon's
// alert. This handshake writes nothing after it, so the alert is what it reads.
func (s settings) tlsProblem(ctx context.Context) string {
	cfg, err := s.tlsConfig()
	if !s.tls() || err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", s.addr)
	if err == nil {
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		_, err = conn.Read(make([]byte, 1))
	}
	if err != nil && strings.Contains(err.Error(), "tls:") {
		return err.Error()
	}
	return ""
}

// dialDaemon makes the forwarder; nothing here waits for the daemon.
func dialDaemon(ctx context.Context, s settings) (*forwarder, error) {
	creds, err := s.credentials()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("--connector-addr %s: %w", s.addr, err)
	}
	return &forwarder{
		c:    connectorclient.NewConnectorClient(ctx, conn),
		conn: conn,
		s:    s,
		log:  ctxzap.Extract(ctx),
	}, nil
}

// unreachable: the call failed before the daemon could answer it (the connection is down, or the
// TLS handshake failed). An answer of the daemon's own, UNAVAILABLE with a RateLimitDescription
// among them, arrives on a ready connection and passes through untouched.
func (f *forwarder) unreachable(err error) bool {
	st, _ := status.FromError(err)
	return st.Code() == codes.Unavailable && len(st.Details()) == 0 && f.conn.GetState() != connectivity.Ready
}

// awaitDaemon waits until the connection is ready, `until` passes or ctx ends.
func (f *forwarder) awaitDaemon(ctx context.Context, until time.Time) bool {
	ctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	for {
		st := f.conn.GetState()
		if st == connectivity.Ready {
			return true
		}
		f.conn.Connect()
		if !f.conn.WaitForStateChange(ctx, st) {
			return false
		}
	}
}

// retrying runs one call, and while the daemon cannot be reached waits for it (up to
// --connector-wait) and runs it again: every write is idempotent on the daemon's side. When the
// wait runs out the call fails with `gaveUp`: FAILED_PRECONDITION for every call but GetMetadata,
// because the SDK's syncer retries UNAVAILABLE for ever, so one clear error ends the sync and the
// next one starts afresh. GetMetadata is called only by service mode's Hello (at start-up and
// for a hello task) and by `capabilities`; Hello gives up for good on FAILED_PRECONDITION and
// retries UNAVAILABLE with backoff, so a daemon that is still starting must be UNAVAILABLE there.
func (f *forwarder) retrying(ctx context.Context, gaveUp codes.Code, once func(context.Context) error) error {
	ctx = passOn(ctx)
	var waitUntil time.Time
	for {
		err := once(ctx)
		if err == nil || !f.unreachable(err) {
			if !waitUntil.IsZero() && err == nil {
				f.log.Info("the miro-connector daemon answers again", zap.String("connector_addr", f.s.addr))
			}
			return err
		}
		if waitUntil.IsZero() {
			waitUntil = time.Now().Add(f.s.wait)
			f.log.Warn("waiting for the miro-connector daemon",
				zap.String("connector_addr", f.s.addr), zap.Duration("up_to", f.s.wait), zap.Error(err))
		}
		if !f.awaitDaemon(ctx, waitUntil) {
			if ctx.Err() != nil {
				return err
			}
			msg := status.Convert(err).Message()
			if !strings.Contains(msg, "tls:") {
				if problem := f.s.tlsProblem(ctx); problem != "" {
					msg += "; a TLS handshake of the bridge's own: " + problem
				}
			}
			return status.Errorf(gaveUp, "the miro-connector daemon at %s could not be reached for %s: %s", f.s.addr, f.s.wait, msg)
		}
	}
}
