package gateway

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portico-dev/portico/internal/kjson"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
)

func TestTableRewrite(t *testing.T) {
	created := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	tb := newTabler(kjson.New(kjson.WithTypes(kjson.KubernetesTypes())))
	tb.now = func() time.Time { return created.Add(90 * time.Second) }
	ns := func(name, phase string) *corev1.Namespace {
		return &corev1.Namespace{
			Metadata: &corev1.ObjectMeta{Name: name, ResourceVersion: "7", CreationTimestamp: timestamppb.New(created)},
			Status:   &corev1.NamespaceStatus{Phase: phase},
		}
	}
	list := &corev1.ListNamespacesResponse{Metadata: &corev1.ListMeta{ResourceVersion: "9"}, Items: []*corev1.Namespace{ns("a", "Active"), ns("b", "Terminating")}}
	tests := map[string]struct {
		ctx       context.Context
		msg       any
		wantCells [][]any
		wantRV    string
		isTable   bool
	}{
		"list as table": {
			ctx: context.WithValue(context.Background(), tableKey{}, tableRequest{includeObject: "Metadata"}),
			msg: list, isTable: true, wantRV: "9",
			wantCells: [][]any{{"a", "Active", "90s"}, {"b", "Terminating", "90s"}},
		},
		"object as table": {
			ctx: context.WithValue(context.Background(), tableKey{}, tableRequest{includeObject: "None"}),
			msg: ns("a", "Active"), isTable: true, wantRV: "7",
			wantCells: [][]any{{"a", "Active", "90s"}},
		},
		"not asked": {ctx: context.Background(), msg: list},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := tb.rewrite(tc.ctx, tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := out.(*metav1.Table)
			if ok != tc.isTable {
				t.Fatalf("rewrite gave %T", out)
			}
			if !ok {
				return
			}
			if got.ResourceVersion != tc.wantRV || len(got.Rows) != len(tc.wantCells) {
				t.Fatalf("table = %+v", got)
			}
			for i, row := range got.Rows {
				b1, _ := json.Marshal(row.Cells)
				b2, _ := json.Marshal(tc.wantCells[i])
				if string(b1) != string(b2) {
					t.Errorf("row %d = %s, want %s", i, b1, b2)
				}
			}
			var names []string
			for _, c := range got.ColumnDefinitions {
				names = append(names, c.Name)
			}
			if b, _ := json.Marshal(names); string(b) != `["Name","Status","Age"]` {
				t.Errorf("columns = %s", b)
			}
		})
	}
}

// TestKindCells: the cells kube-apiserver's printers compute, for the
// kinds whose columns are more than fields.
func TestKindCells(t *testing.T) {
	created := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	now := created.Add(90 * time.Second)
	meta := &corev1.ObjectMeta{Name: "x", CreationTimestamp: timestamppb.New(created)}
	tests := map[string]struct {
		kind string
		obj  proto.Message
		want []any
	}{
		"event without times": {"Event", &corev1.Event{Metadata: meta, Type: "Normal", Reason: "Pulled", Message: " hi ",
			InvolvedObject: &corev1.ObjectReference{Kind: "Pod", Name: "p", FieldPath: "spec.containers{c}"},
			Source:         &corev1.EventSource{Component: "kubelet", Host: "n1"}},
			[]any{"<unknown>", "Normal", "Pulled", "pod/p", "spec.containers{c}", "kubelet, n1", "hi", "<unknown>", 1, "x"}},
		"event with eventTime and series": {"Event", &corev1.Event{Metadata: meta, Type: "Warning", ReportingComponent: "sched",
			EventTime:      &corev1.MicroTime{Seconds: created.Unix()},
			Series:         &corev1.EventSeries{Count: 4, LastObservedTime: &corev1.MicroTime{Seconds: created.Add(30 * time.Second).Unix()}},
			InvolvedObject: &corev1.ObjectReference{Kind: "Node"}},
			[]any{"60s", "Warning", "", "node", "", "sched", "", "90s", 4, "x"}},
		"event with timestamps": {"Event", &corev1.Event{Metadata: meta, Count: 3,
			FirstTimestamp: timestamppb.New(created), LastTimestamp: timestamppb.New(created.Add(80 * time.Second)),
			InvolvedObject: &corev1.ObjectReference{Kind: "Pod", Name: "p"}},
			[]any{"10s", "", "", "pod/p", "", "", "", "90s", 3, "x"}},
		"role binding": {"RoleBinding", &rbacv1.RoleBinding{Metadata: meta, RoleRef: &rbacv1.RoleRef{Kind: "Role", Name: "r"},
			Subjects: []*rbacv1.Subject{{Kind: "User", Name: "a"}, {Kind: "Group", Name: "g"}, {Kind: "User", Name: "b"}, {Kind: "ServiceAccount", Name: "s", Namespace: "ns"}}},
			[]any{"x", "Role/r", "90s", "a, b", "g", "ns/s"}},
		"role (default table)": {"Role", &rbacv1.Role{Metadata: meta}, []any{"x", "2026-11-27T08:00:00Z"}},
		"node": {"Node", &corev1.Node{Metadata: meta, Status: &corev1.NodeStatus{
			Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "False"}},
			Addresses:  []*corev1.NodeAddress{{Type: "Hostname", Address: "h"}, {Type: "InternalIP", Address: "10.0.0.1"}},
			NodeInfo:   &corev1.NodeSystemInfo{KubeletVersion: "v1", OsImage: "os"}}},
			[]any{"x", "NotReady", "<none>", "90s", "v1", "10.0.0.1", "<none>", "os", "<unknown>", "<unknown>"}},
	}
	tb := newTabler(kjson.New(kjson.WithTypes(kjson.KubernetesTypes())))
	tb.now = func() time.Time { return now }
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tb.build(tableRequest{includeObject: "None"}, tc.kind, []protoreflect.Message{tc.obj.ProtoReflect()}, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			b1, _ := json.Marshal(got.Rows[0].Cells)
			b2, _ := json.Marshal(tc.want)
			if string(b1) != string(b2) {
				t.Errorf("cells = %s, want %s", b1, b2)
			}
			if len(got.ColumnDefinitions) != len(tc.want) {
				t.Errorf("%d column definitions for %d cells", len(got.ColumnDefinitions), len(tc.want))
			}
		})
	}
}
