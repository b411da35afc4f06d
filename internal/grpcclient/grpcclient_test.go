package grpcclient

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/pki"
	"github.com/portico-dev/portico/internal/testwait"
	"github.com/portico-dev/portico/internal/tlsconf"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

func TestParseTarget(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    Target
		wantErr bool
	}{
		"one":               {in: "127.0.0.1:6444", want: Target{Addresses: []string{"127.0.0.1:6444"}}},
		"list with spaces":  {in: "a:1, b:2", want: Target{Addresses: []string{"a:1", "b:2"}}},
		"dns":               {in: "dns:///api.portico.svc:6444", want: Target{DNS: "dns:///api.portico.svc:6444"}},
		"dns with resolver": {in: "dns://10.0.0.53/api:6444", want: Target{DNS: "dns://10.0.0.53/api:6444"}},
		"empty":             {in: "", wantErr: true},
		"empty element":     {in: "a:1,", wantErr: true},
		"no port":           {in: "a", wantErr: true},
		"bad port":          {in: "a:x", wantErr: true},
		"port 0":            {in: "a:0", wantErr: true},
		"no host":           {in: ":6444", wantErr: true},
		"twice":             {in: "a:1,a:1", wantErr: true},
		"dns no slashes":    {in: "dns:api:6444", wantErr: true},
		"dns no port":       {in: "dns:///api", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseTarget(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseTarget(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err == nil && got.String() != tc.want.String() {
				t.Fatalf("ParseTarget(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	many := "a:1"
	for i := 2; i <= MaxAddresses+1; i++ {
		many += ",a:" + strconv.Itoa(i)
	}
	if _, err := ParseTarget(many); err == nil {
		t.Fatalf("%d addresses accepted", MaxAddresses+1)
	}
}

func TestResourceCalls(t *testing.T) {
	const svc = "/portico.core.v1.ConfigMapService/"
	named := &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "a"}}
	tests := map[string]struct {
		method string
		req    any
		want   Safety
	}{
		"get":                {svc + "GetConfigMap", &corev1.GetConfigMapRequest{Name: "a"}, Idempotent},
		"list":               {svc + "ListConfigMaps", &corev1.ListConfigMapsRequest{}, Idempotent},
		"create by name":     {svc + "CreateConfigMap", &corev1.CreateConfigMapRequest{ConfigMap: named}, Conditional},
		"create generated":   {svc + "CreateConfigMap", &corev1.CreateConfigMapRequest{ConfigMap: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{GenerateName: "a-"}}}, NotRetried},
		"create no object":   {svc + "CreateConfigMap", &corev1.CreateConfigMapRequest{}, NotRetried},
		"update with rv":     {svc + "UpdateConfigMap", &corev1.UpdateConfigMapRequest{Name: "a", ConfigMap: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "a", ResourceVersion: "7"}}}, Conditional},
		"update without rv":  {svc + "UpdateConfigMap", &corev1.UpdateConfigMapRequest{Name: "a", ConfigMap: named}, NotRetried},
		"delete by name":     {svc + "DeleteConfigMap", &corev1.DeleteConfigMapRequest{Name: "a"}, Conditional},
		"delete collection":  {svc + "DeleteCollectionConfigMaps", &corev1.DeleteCollectionConfigMapsRequest{}, NotRetried},
		"patch":              {svc + "PatchConfigMap", &corev1.PatchConfigMapRequest{Name: "a"}, NotRetried},
		"not a proto":        {svc + "CreateConfigMap", "x", NotRetried},
		"unknown method":     {svc + "Frobnicate", &corev1.GetConfigMapRequest{}, NotRetried},
		"watch is no unary":  {svc + "WatchConfigMaps", &corev1.WatchConfigMapsRequest{}, NotRetried},
		"list without slash": {"ListConfigMaps", &corev1.ListConfigMapsRequest{}, Idempotent},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ResourceCalls(tc.method, tc.req); got != tc.want {
				t.Fatalf("ResourceCalls(%s) = %v, want %v", tc.method, got, tc.want)
			}
		})
	}
}

// fakes is a set of ConfigMap backends sharing one script: the first
// call of each kind fails with Unavailable, as a backend dying under it
// would, and the rest answer.
type fakes struct {
	gets, creates, watches atomic.Int32
	answered               atomic.Int32
	// refuseFirstWatch ends the first watch before it begins, as a
	// replica that is stopping does.
	refuseFirstWatch bool
	mu               sync.Mutex
	watchRVs         []string // the resource_version of each Watch call
}

type fakeServer struct {
	corev1.UnimplementedConfigMapServiceServer
	f *fakes
}

func (s fakeServer) GetConfigMap(ctx context.Context, req *corev1.GetConfigMapRequest) (*corev1.GetConfigMapResponse, error) {
	if req.GetName() == "answered" {
		// Reached, but what it needs is not: said in the trailer.
		s.f.answered.Add(1)
		_ = grpc.SetTrailer(ctx, metadata.Pairs(AnsweredUnavailable, "true"))
		return nil, status.Error(codes.Unavailable, "authz is down")
	}
	if s.f.gets.Add(1) == 1 {
		return nil, status.Error(codes.Unavailable, "dying")
	}
	return &corev1.GetConfigMapResponse{ConfigMap: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: req.GetName()}}}, nil
}

func (s fakeServer) CreateConfigMap(ctx context.Context, req *corev1.CreateConfigMapRequest) (*corev1.CreateConfigMapResponse, error) {
	if s.f.creates.Add(1) == 1 {
		// Stored, then the answer was lost.
		return nil, status.Error(codes.Unavailable, "dying after the write")
	}
	return nil, status.Error(codes.AlreadyExists, "exists")
}

func (s fakeServer) WatchConfigMaps(req *corev1.WatchConfigMapsRequest, stream grpc.ServerStreamingServer[corev1.WatchConfigMapsResponse]) error {
	s.f.mu.Lock()
	s.f.watchRVs = append(s.f.watchRVs, req.GetResourceVersion())
	s.f.mu.Unlock()
	from, _ := strconv.Atoi(req.GetResourceVersion())
	first := s.f.watches.Add(1) == 1
	if first && s.f.refuseFirstWatch {
		return status.Error(codes.Unavailable, "stopping")
	}
	for rv := from + 1; rv <= 6; rv++ {
		if err := stream.Send(&corev1.WatchConfigMapsResponse{Type: "MODIFIED", Object: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{ResourceVersion: strconv.Itoa(rv)}}}); err != nil {
			return err
		}
		if first && rv == from+2 {
			return status.Error(codes.Unavailable, "dying mid-watch")
		}
	}
	return nil
}

// testPKI is a dev PKI in a temporary directory.
func testPKI(t *testing.T) pki.Layout {
	t.Helper()
	layout := pki.Layout{Dir: filepath.Join(t.TempDir(), "pki")}
	if _, err := layout.EnsureDev(); err != nil {
		t.Fatal(err)
	}
	return layout
}

// startBackends starts n fake api backends on loopback.
func startBackends(t *testing.T, layout pki.Layout, f *fakes, n int) ([]string, []*grpc.Server) {
	t.Helper()
	cfg, err := tlsconf.Files{CertFile: layout.ServiceCert("api"), KeyFile: layout.ServiceKey("api"), CAFiles: []string{layout.CACert()}}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	var srvs []*grpc.Server
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)))
		corev1.RegisterConfigMapServiceServer(srv, fakeServer{f: f})
		healthpb.RegisterHealthServer(srv, health.NewServer())
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(srv.Stop)
		addrs = append(addrs, l.Addr().String())
		srvs = append(srvs, srv)
	}
	return addrs, srvs
}

func dialBackends(t *testing.T, layout pki.Layout, addrs []string, o Options) *grpc.ClientConn {
	t.Helper()
	// No ServerName: each backend is verified for its own host.
	cfg, err := tlsconf.Files{CertFile: layout.ServiceCert("gateway"), KeyFile: layout.ServiceKey("gateway"), CAFiles: []string{layout.CACert()}}.ServiceClientConfig("", "api")
	if err != nil {
		t.Fatal(err)
	}
	o.TLS = cfg
	conn, err := DialTarget(Target{Addresses: addrs}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestRetriesAndResumes: a read that meets Unavailable is answered by
// another try; a create by name whose first try was stored but not
// answered is Unavailable (outcome unknown), never AlreadyExists; a
// watch broken after two events goes on from the second one's
// resourceVersion, each event once.
func TestRetriesAndResumes(t *testing.T) {
	layout := testPKI(t)
	f := &fakes{}
	addrs, _ := startBackends(t, layout, f, 2)
	conn := dialBackends(t, layout, addrs, Options{Retry: ResourceCalls, ResumeWatches: true})
	c := corev1.NewConfigMapServiceClient(conn)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	if _, err := c.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Namespace: "d", Name: "a"}); err != nil {
		t.Fatalf("get: %v, want it retried to success", err)
	}
	_, err := c.CreateConfigMap(ctx, &corev1.CreateConfigMapRequest{Namespace: "d", ConfigMap: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "a"}}})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("create retried into AlreadyExists: %v, want the first Unavailable", err)
	}
	if n := f.creates.Load(); n != 2 {
		t.Fatalf("create tried %d times, want 2", n)
	}

	stream, err := c.WatchConfigMaps(ctx, &corev1.WatchConfigMapsRequest{Namespace: "d", ResourceVersion: "1", TimeoutSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("watch after %v: %v", got, err)
		}
		got = append(got, ev.GetObject().GetMetadata().GetResourceVersion())
	}
	if want := []string{"2", "3", "4", "5", "6"}; !slices.Equal(got, want) {
		t.Fatalf("watch events %v, want %v", got, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := []string{"1", "3"}; !slices.Equal(f.watchRVs, want) {
		t.Fatalf("watches from %v, want %v", f.watchRVs, want)
	}
}

// TestNoRetryWithoutPolicy: a generateName create is never sent twice.
func TestNoRetryWithoutPolicy(t *testing.T) {
	layout := testPKI(t)
	f := &fakes{}
	addrs, _ := startBackends(t, layout, f, 2)
	c := corev1.NewConfigMapServiceClient(dialBackends(t, layout, addrs, Options{Retry: ResourceCalls}))
	_, err := c.CreateConfigMap(t.Context(), &corev1.CreateConfigMapRequest{Namespace: "d", ConfigMap: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{GenerateName: "a-"}}})
	if status.Code(err) != codes.Unavailable || f.creates.Load() != 1 {
		t.Fatalf("generateName create: %v after %d tries, want Unavailable after 1", err, f.creates.Load())
	}
}

// TestRoutesAroundDeadBackend: with one of two backends stopped, every
// call is answered by the other.
func TestRoutesAroundDeadBackend(t *testing.T) {
	layout := testPKI(t)
	f := &fakes{}
	f.gets.Store(1) // no scripted failure
	addrs, srvs := startBackends(t, layout, f, 2)
	c := corev1.NewConfigMapServiceClient(dialBackends(t, layout, addrs, Options{Retry: ResourceCalls}))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Both connected.
	for range 4 {
		if _, err := c.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Name: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	srvs[0].Stop()
	for i := range 50 {
		if _, err := c.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Name: "a"}); err != nil {
			t.Fatalf("get %d with one backend down: %v", i, err)
		}
	}
	srvs[1].Stop()
	// Every backend down: Unavailable within the retries' wait for a
	// backend, never a hang.
	testwait.Until(t, 5*time.Second, "Unavailable with every backend down", func() bool {
		cctx, cancel := context.WithTimeout(ctx, 2*readyBudget)
		defer cancel()
		cctx, gaveUp := TrackGaveUp(cctx)
		_, err := c.GetConfigMap(cctx, &corev1.GetConfigMapRequest{Name: "a"})
		// A server answering with this call's failure marks it.
		return status.Code(err) == codes.Unavailable && gaveUp()
	})
}

// TestWatchEndedBeforeItBegan: a watch that a stopping backend ends
// before its header is opened again on another, even from
// resourceVersion "" (nothing was delivered), and loses no event.
func TestWatchEndedBeforeItBegan(t *testing.T) {
	layout := testPKI(t)
	f := &fakes{refuseFirstWatch: true}
	addrs, _ := startBackends(t, layout, f, 2)
	c := corev1.NewConfigMapServiceClient(dialBackends(t, layout, addrs, Options{Retry: ResourceCalls, ResumeWatches: true}))
	stream, err := c.WatchConfigMaps(t.Context(), &corev1.WatchConfigMapsRequest{Namespace: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if md, err := stream.Header(); md == nil || err != nil {
		t.Fatalf("header %v, %v: want the second backend's", md, err)
	}
	var got []string
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.GetObject().GetMetadata().GetResourceVersion())
	}
	if want := []string{"1", "2", "3", "4", "5", "6"}; !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := map[string]struct {
		o       Options
		wantErr bool
	}{
		"TLS 1.2":         {o: Options{TLS: &tls.Config{MinVersion: tls.VersionTLS12}}},
		"no TLS":          {o: Options{}, wantErr: true},
		"TLS below 1.2":   {o: Options{TLS: &tls.Config{MinVersion: tls.VersionTLS11}}, wantErr: true},
		"TLS unset floor": {o: Options{TLS: &tls.Config{}}, wantErr: true},
		"attempts":        {o: Options{TLS: &tls.Config{MinVersion: tls.VersionTLS13}, MaxAttempts: 5}},
		"too many tries":  {o: Options{TLS: &tls.Config{MinVersion: tls.VersionTLS13}, MaxAttempts: 11}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := tc.o.Validate(); (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// TestAnsweredUnavailableNotRetried: an Unavailable the backend answered
// itself (its own dependency is down, and it has waited for it) is not
// tried on another backend, which would wait again.
func TestAnsweredUnavailableNotRetried(t *testing.T) {
	layout := testPKI(t)
	f := &fakes{}
	addrs, _ := startBackends(t, layout, f, 2)
	c := corev1.NewConfigMapServiceClient(dialBackends(t, layout, addrs, Options{Retry: ResourceCalls}))
	ctx, gaveUp := TrackGaveUp(t.Context())
	_, err := c.GetConfigMap(ctx, &corev1.GetConfigMapRequest{Name: "answered"})
	if status.Code(err) != codes.Unavailable || f.answered.Load() != 1 || !gaveUp() {
		t.Fatalf("answered Unavailable: %v after %d tries (given up: %v), want Unavailable after 1, given up", err, f.answered.Load(), gaveUp())
	}
}

// TestDNSTarget: a dns:/// target resolves to the backends and verifies
// them for the name (the certificates carry "localhost").
func TestDNSTarget(t *testing.T) {
	layout := testPKI(t)
	f := &fakes{}
	f.gets.Store(1) // no scripted failure
	addrs, _ := startBackends(t, layout, f, 1)
	_, port, _ := net.SplitHostPort(addrs[0])
	cfg, err := tlsconf.Files{CertFile: layout.ServiceCert("gateway"), KeyFile: layout.ServiceKey("gateway"), CAFiles: []string{layout.CACert()}}.ServiceClientConfig("", "api")
	if err != nil {
		t.Fatal(err)
	}
	target, err := ParseTarget("dns:///localhost:" + port)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := DialTarget(target, Options{TLS: cfg, Retry: ResourceCalls})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := corev1.NewConfigMapServiceClient(conn).GetConfigMap(ctx, &corev1.GetConfigMapRequest{Name: "a"}); err != nil {
		t.Fatalf("get through %s: %v", target, err)
	}
}
