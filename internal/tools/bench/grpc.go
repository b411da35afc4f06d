package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/pki"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// grpcRow is (b)'s gRPC Get straight to Portico's api, over mutual TLS
// with the admin's certificate from the data dir's PKI: the REST
// gateway's hop, without the gateway. kube-apiserver has no such API.
func (b *bench) grpcRow(p *server) row {
	name := fmt.Sprintf("b. gRPC GetConfigMap straight to the api (mTLS, admin cert), %d clients", b.o.concurrency)
	layout := pki.Layout{Dir: p.dataDir + "/pki"}
	pair, err := tls.LoadX509KeyPair(layout.AdminCert(), layout.AdminKey())
	if err != nil {
		logf("gRPC not measured: %v", err)
		return loadRow(name+" (not measured: "+err.Error()+")", nil, nil)
	}
	caPEM, err := os.ReadFile(layout.CACert())
	if err != nil {
		logf("gRPC not measured: %v", err)
		return loadRow(name+" (not measured)", nil, nil)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12})
	conn, err := grpc.NewClient(p.apiAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return loadRow(name+" (not measured)", nil, nil)
	}
	defer conn.Close()
	c := corev1.NewConfigMapServiceClient(conn)
	logf("%s: %s", p.name, name)
	// A failed RPC counts as a 500 in the table; the first is logged.
	var once sync.Once
	r := b.load(p, b.o.concurrency, func(ctx context.Context, _ int) (int, error) {
		_, err := c.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: "bench", Name: "cm-2k"})
		if err != nil {
			// gRPC's own timer for the run's deadline may fire just
			// before the context's: that is the run ending, not a
			// failure, so wait for the context to say so too.
			if status.Code(err) == codes.DeadlineExceeded {
				<-ctx.Done()
			}
			if ctx.Err() != nil {
				return 0, err
			}
			once.Do(func() { logf("%s: gRPC GetConfigMap: %v", p.name, err) })
			return 500, nil
		}
		return 200, nil
	})
	return loadRow(name, r, nil)
}
