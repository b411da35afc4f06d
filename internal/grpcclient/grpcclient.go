// Package grpcclient dials Portico's services: one long-lived HTTP/2
// connection per target over mutual TLS, never a dial per request.
package grpcclient

import (
	"crypto/tls"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
)

// MaxMessageBytes bounds every message a client receives. An unpaged
// list of everything of a kind is one message (kube-apiserver answers it
// whole), so the bound is far above any single object: 512 MiB, a quarter
// of etcd's default quota.
const MaxMessageBytes = 512 << 20

// reconnect is how soon a connection to a service that is down is tried
// again: gRPC's default waits a second after the first failure, which at
// start (a service dialing one that is still starting) and after a
// restart is a second of refused requests; this starts at 100 ms and
// backs off to 5 s.
var reconnect = backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second}

// Dial returns a lazily connecting client for address. tlsConf must carry
// the caller's certificate and the CA that signed the server's.
func Dial(address string, tlsConf *tls.Config) (*grpc.ClientConn, error) {
	if tlsConf == nil {
		return nil, fmt.Errorf("dial %s: TLS is required", address)
	}
	conn, err := grpc.NewClient(address,
		grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes)),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: reconnect, MinConnectTimeout: 5 * time.Second}),
	)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	return conn, nil
}
