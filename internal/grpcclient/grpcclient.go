// Package grpcclient dials Portico's services: one long-lived HTTP/2
// connection per target over mutual TLS, never a dial per request.
package grpcclient

import (
	"crypto/tls"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// MaxMessageBytes bounds every message a client receives. An unpaged
// list of everything of a kind is one message (kube-apiserver answers it
// whole), so the bound is far above any single object: 512 MiB, a quarter
// of etcd's default quota.
const MaxMessageBytes = 512 << 20

// Dial returns a lazily connecting client for address. tlsConf must carry
// the caller's certificate and the CA that signed the server's.
func Dial(address string, tlsConf *tls.Config) (*grpc.ClientConn, error) {
	if tlsConf == nil {
		return nil, fmt.Errorf("dial %s: TLS is required", address)
	}
	conn, err := grpc.NewClient(address,
		grpc.WithTransportCredentials(credentials.NewTLS(tlsConf)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes)),
	)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	return conn, nil
}
