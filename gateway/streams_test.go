package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/authnclient"
	"github.com/portico-dev/portico/internal/authzclient"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// fakeConfigMaps records the RPCs the gateway makes; its watch refuses
// resourceVersion "abc" before it starts, as the api does, and otherwise
// starts and sends one event.
type fakeConfigMaps struct {
	corev1.UnimplementedConfigMapServiceServer
	mu    sync.Mutex
	calls []string
}

func (f *fakeConfigMaps) record(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
}

func (f *fakeConfigMaps) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeConfigMaps) GetConfigMap(context.Context, *corev1.GetConfigMapRequest) (*corev1.GetConfigMapResponse, error) {
	f.record("get")
	return &corev1.GetConfigMapResponse{ConfigMap: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "c"}}}, nil
}

func (f *fakeConfigMaps) DeleteConfigMap(context.Context, *corev1.DeleteConfigMapRequest) (*corev1.DeleteConfigMapResponse, error) {
	f.record("delete")
	return &corev1.DeleteConfigMapResponse{}, nil
}

func (f *fakeConfigMaps) CreateConfigMap(context.Context, *corev1.CreateConfigMapRequest) (*corev1.CreateConfigMapResponse, error) {
	f.record("create")
	return &corev1.CreateConfigMapResponse{ConfigMap: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "c"}}}, nil
}

func (f *fakeConfigMaps) WatchConfigMaps(req *corev1.WatchConfigMapsRequest, stream corev1.ConfigMapService_WatchConfigMapsServer) error {
	f.record("watch")
	if req.GetResourceVersion() == "abc" {
		return apierrors.BadRequest(`invalid resourceVersion "abc"`)
	}
	if err := stream.SendHeader(metadata.MD{}); err != nil {
		return err
	}
	return stream.Send(&corev1.WatchConfigMapsResponse{Type: "ADDED", Object: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "c"}}})
}

// configMapGateway is a gateway whose api serves fakeConfigMaps over an
// in-memory connection; its handler is the insecure port's.
func configMapGateway(t *testing.T) (http.Handler, *fakeConfigMaps) {
	t.Helper()
	fake := &fakeConfigMaps{}
	conn := fakeBackend(t, func(s *grpc.Server) { corev1.RegisterConfigMapServiceServer(s, fake) })
	g, err := New(context.Background(), Options{InsecureAddress: "127.0.0.1:0"},
		Deps{API: conn, Authn: authnclient.New(conn), Authz: authzclient.New(conn), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return g.insecureHandler(), fake
}

// TestNoMethodOverride: the verb is the HTTP method. A form POST carrying
// X-HTTP-Method-Override: DELETE once deleted a configmap (audited as a
// create), and a plain form POST was served as a GET.
func TestNoMethodOverride(t *testing.T) {
	tests := map[string]struct {
		target, contentType, override string
	}{
		"override to DELETE": {"/api/v1/namespaces/default/configmaps/c", "application/x-www-form-urlencoded", "DELETE"},
		"override to GET":    {"/api/v1/namespaces/default/configmaps/c", "application/x-www-form-urlencoded", "GET"},
		"form POST as GET":   {"/api/v1/namespaces/default/configmaps/c", "application/x-www-form-urlencoded", ""},
		"override on JSON":   {"/api/v1/namespaces/default/configmaps/c", "application/json", "DELETE"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h, fake := configMapGateway(t)
			// No body: a body of this type is refused with 415 earlier.
			r := httptest.NewRequest(http.MethodPost, tc.target, nil)
			r.Header.Set("Content-Type", tc.contentType)
			if tc.override != "" {
				r.Header.Set("X-HTTP-Method-Override", tc.override)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			for _, c := range fake.recorded() {
				if c == "delete" || c == "get" {
					t.Fatalf("POST %s (%s, override %q) made a %s call; answered %d %s", tc.target, tc.contentType, tc.override, c, w.Code, w.Body)
				}
			}
			if w.Code < 400 {
				t.Fatalf("POST answered %d %s, want an error", w.Code, w.Body)
			}
		})
	}
}

// TestWatchRefusedBeforeStart: a watch the api refuses before it starts is
// answered with that error's HTTP status and a Status body, not 200 and an
// ERROR event; a watch that starts streams its events.
func TestWatchRefusedBeforeStart(t *testing.T) {
	h, _ := configMapGateway(t)
	tests := map[string]struct {
		query    string
		code     int
		contains string
	}{
		"bad resourceVersion": {"watch=1&resourceVersion=abc", http.StatusBadRequest, `"kind":"Status"`},
		"started":             {"watch=1&resourceVersion=5", http.StatusOK, `"type":"ADDED"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := get(h, http.MethodGet, "/api/v1/namespaces/default/configmaps?"+tc.query, nil)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.contains) {
				t.Fatalf("answered %d %s, want %d with %s", w.Code, w.Body, tc.code, tc.contains)
			}
			if tc.code != http.StatusOK {
				var st struct {
					Code   int    `json:"code"`
					Reason string `json:"reason"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || st.Code != tc.code || st.Reason != "BadRequest" {
					t.Fatalf("body %s is not a %d BadRequest Status (%v)", w.Body, tc.code, err)
				}
			}
		})
	}
}
