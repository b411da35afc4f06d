package api

import (
	"testing"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	discoveryv1 "github.com/portico-dev/portico/proto/portico/discovery/v1"
)

// TestEndpointSliceGeneration: an EndpointSlice's generation starts at 1
// and counts the updates that change more than its metadata, or its
// labels, as kube-apiserver's strategy does: the endpointslice
// controller's tracker tells a stale informer cache by it.
func TestEndpointSliceGeneration(t *testing.T) {
	c := newAPI(t)
	ctx := t.Context()
	ns := newNamespace(t, c)
	es := discoveryv1.NewEndpointSliceServiceClient(c.conn)
	slice := func(ip string, labels map[string]string, annotations map[string]string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			Metadata:    &corev1.ObjectMeta{Name: "s", Labels: labels, Annotations: annotations},
			AddressType: "IPv4",
			Endpoints:   []*discoveryv1.Endpoint{{Addresses: []string{ip}}},
		}
	}
	created, err := es.CreateEndpointSlice(ctx, &discoveryv1.CreateEndpointSliceRequest{Namespace: ns, EndpointSlice: slice("10.0.0.1", nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if g := created.GetEndpointSlice().GetMetadata().GetGeneration(); g != 1 {
		t.Fatalf("created with generation %d, want 1", g)
	}
	for _, step := range []struct {
		what string
		obj  *discoveryv1.EndpointSlice
		want int64
	}{
		{"an annotation", slice("10.0.0.1", nil, map[string]string{"a": "1"}), 1},
		{"an endpoint", slice("10.0.0.2", nil, map[string]string{"a": "1"}), 2},
		{"a label", slice("10.0.0.2", map[string]string{"l": "1"}, map[string]string{"a": "1"}), 3},
		{"nothing", slice("10.0.0.2", map[string]string{"l": "1"}, map[string]string{"a": "1"}), 3},
	} {
		out, err := es.UpdateEndpointSlice(ctx, &discoveryv1.UpdateEndpointSliceRequest{Namespace: ns, Name: "s", EndpointSlice: step.obj})
		if err != nil {
			t.Fatalf("update of %s: %v", step.what, err)
		}
		if g := out.GetEndpointSlice().GetMetadata().GetGeneration(); g != step.want {
			t.Errorf("after an update of %s: generation %d, want %d", step.what, g, step.want)
		}
	}
}
