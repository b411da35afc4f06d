package storage

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

func rvOf(tb testing.TB, o *corev1.ConfigMap) int64 {
	tb.Helper()
	n, err := strconv.ParseInt(o.GetMetadata().GetResourceVersion(), 10, 64)
	if err != nil || n <= 0 {
		tb.Fatalf("resourceVersion %q is not a revision", o.GetMetadata().GetResourceVersion())
	}
	return n
}

func TestKey(t *testing.T) {
	s := NewStore(testClient, "/registry/configmaps", newConfigMap)
	tests := map[string]struct{ namespace, name, want string }{
		"namespaced":     {"ns", "a", "/registry/configmaps/ns/a"},
		"cluster-scoped": {"", "a", "/registry/configmaps/a"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := s.Key(tc.namespace, tc.name); got != tc.want {
				t.Fatalf("Key = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCreate(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	mustCreate(t, s, "ns", "existing")

	tests := map[string]struct {
		namespace, name string
		obj             *corev1.ConfigMap
		wantErr         error
	}{
		"new":               {namespace: "ns", name: "new", obj: cm("ns", "new", map[string]string{"a": "b"})},
		"cluster-scoped":    {name: "global", obj: cm("", "global", nil)},
		"rv is ignored":     {namespace: "ns", name: "rv", obj: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{Name: "rv", ResourceVersion: "12345"}}},
		"already exists":    {namespace: "ns", name: "existing", obj: cm("ns", "existing", nil), wantErr: ErrAlreadyExists},
		"empty name":        {namespace: "ns", obj: cm("ns", "", nil), wantErr: ErrInvalidKey},
		"slash in name":     {namespace: "ns", name: "a/b", obj: cm("ns", "a/b", nil), wantErr: ErrInvalidKey},
		"slash in ns":       {namespace: "a/b", name: "x", obj: cm("a/b", "x", nil), wantErr: ErrInvalidKey},
		"too large":         {namespace: "ns", name: "big", obj: cm("ns", "big", map[string]string{"k": strings.Repeat("x", MaxValueBytes)}), wantErr: ErrTooLarge},
		"at the size limit": {namespace: "ns", name: "limit", obj: cm("ns", "limit", map[string]string{"k": strings.Repeat("x", MaxValueBytes-100)})},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := proto.Clone(tc.obj).(*corev1.ConfigMap)
			out, err := s.Create(ctx, tc.namespace, tc.name, in)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Create error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if !proto.Equal(in, tc.obj) {
				t.Fatalf("Create modified its argument")
			}
			rv := rvOf(t, out)
			got, err := s.Get(ctx, tc.namespace, tc.name)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if !proto.Equal(got, out) || rvOf(t, got) != rv {
				t.Fatalf("Get = %v, want %v", got, out)
			}
			want := proto.Clone(tc.obj).(*corev1.ConfigMap)
			want.Metadata.ResourceVersion = strconv.FormatInt(rv, 10)
			if !proto.Equal(got, want) {
				t.Fatalf("stored %v, want %v", got, want)
			}
		})
	}

	t.Run("no metadata", func(t *testing.T) {
		if _, err := s.Create(ctx, "ns", "nometa", &corev1.ConfigMap{}); err == nil {
			t.Fatal("Create without metadata succeeded")
		}
	})
}

func TestStoredValue(t *testing.T) {
	s := newStore(t)
	out := mustCreate(t, s, "ns", "a")
	resp, err := testClient.Get(t.Context(), s.Key("ns", "a"))
	if err != nil {
		t.Fatal(err)
	}
	stored := new(corev1.ConfigMap)
	if err := proto.Unmarshal(resp.Kvs[0].Value, stored); err != nil {
		t.Fatal(err)
	}
	if rv := stored.GetMetadata().GetResourceVersion(); rv != "" {
		t.Fatalf("stored resourceVersion %q, want it cleared", rv)
	}
	want, _ := proto.MarshalOptions{Deterministic: true}.Marshal(stored)
	if string(want) != string(resp.Kvs[0].Value) {
		t.Fatal("stored value is not the deterministic encoding")
	}
	if got := strconv.FormatInt(resp.Kvs[0].ModRevision, 10); got != out.GetMetadata().GetResourceVersion() {
		t.Fatalf("ModRevision %s, resourceVersion %s", got, out.GetMetadata().GetResourceVersion())
	}
}

func TestGet(t *testing.T) {
	s := newStore(t)
	mustCreate(t, s, "ns", "a")
	tests := map[string]struct {
		namespace, name string
		wantErr         error
	}{
		"found":          {namespace: "ns", name: "a"},
		"missing":        {namespace: "ns", name: "b", wantErr: ErrNotFound},
		"other ns":       {namespace: "other", name: "a", wantErr: ErrNotFound},
		"cluster-scoped": {name: "a", wantErr: ErrNotFound},
		"invalid":        {namespace: "ns", name: "", wantErr: ErrInvalidKey},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := s.Get(t.Context(), tc.namespace, tc.name)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Get error = %v, want %v", err, tc.wantErr)
			}
			if err == nil && got.GetMetadata().GetName() != tc.name {
				t.Fatalf("Get returned %v", got)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	tests := map[string]struct {
		rv      func(created string) string // resourceVersion to send
		name    string                      // default "a" (exists)
		wantErr error
	}{
		"current rv":      {rv: func(c string) string { return c }},
		"unconditional":   {rv: func(string) string { return "" }},
		"rv 0":            {rv: func(string) string { return "0" }},
		"stale rv":        {rv: func(c string) string { n, _ := strconv.Atoi(c); return strconv.Itoa(n - 1) }, wantErr: ErrConflict},
		"future rv":       {rv: func(c string) string { n, _ := strconv.Atoi(c); return strconv.Itoa(n + 100) }, wantErr: ErrConflict},
		"invalid rv":      {rv: func(string) string { return "abc" }, wantErr: ErrInvalidResourceVersion},
		"missing":         {rv: func(string) string { return "" }, name: "missing", wantErr: ErrNotFound},
		"missing with rv": {rv: func(c string) string { return c }, name: "missing", wantErr: ErrNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			created := mustCreate(t, s, "ns", "a")
			target := tc.name
			if target == "" {
				target = "a"
			}
			upd := proto.Clone(created).(*corev1.ConfigMap)
			upd.Metadata.Name = target
			upd.Data = map[string]string{"k": "updated"}
			upd.Metadata.ResourceVersion = tc.rv(created.GetMetadata().GetResourceVersion())
			in := proto.Clone(upd).(*corev1.ConfigMap)

			out, err := s.Update(ctx, "ns", target, upd)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Update error = %v, want %v", err, tc.wantErr)
			}
			if !proto.Equal(in, upd) {
				t.Fatal("Update modified its argument")
			}
			got, gerr := s.Get(ctx, "ns", "a")
			if gerr != nil {
				t.Fatal(gerr)
			}
			if err != nil {
				if !proto.Equal(got, created) {
					t.Fatalf("failed update changed the object: %v", got)
				}
				return
			}
			if rvOf(t, out) <= rvOf(t, created) {
				t.Fatalf("resourceVersion %s not after %s", out.GetMetadata().GetResourceVersion(), created.GetMetadata().GetResourceVersion())
			}
			if !proto.Equal(got, out) || got.Data["k"] != "updated" {
				t.Fatalf("Get = %v, want %v", got, out)
			}
		})
	}
}

func TestDelete(t *testing.T) {
	tests := map[string]struct {
		pre     func(created *corev1.ConfigMap) Preconditions
		name    string
		wantErr error
	}{
		"no preconditions": {pre: func(*corev1.ConfigMap) Preconditions { return Preconditions{} }},
		"uid holds":        {pre: func(c *corev1.ConfigMap) Preconditions { return Preconditions{UID: c.Metadata.Uid} }},
		"rv holds": {pre: func(c *corev1.ConfigMap) Preconditions {
			return Preconditions{ResourceVersion: c.Metadata.ResourceVersion}
		}},
		"both hold": {pre: func(c *corev1.ConfigMap) Preconditions {
			return Preconditions{UID: c.Metadata.Uid, ResourceVersion: c.Metadata.ResourceVersion}
		}},
		"uid differs":  {pre: func(*corev1.ConfigMap) Preconditions { return Preconditions{UID: "other"} }, wantErr: ErrConflict},
		"stale rv":     {pre: func(*corev1.ConfigMap) Preconditions { return Preconditions{ResourceVersion: "1"} }, wantErr: ErrConflict},
		"invalid rv":   {pre: func(*corev1.ConfigMap) Preconditions { return Preconditions{ResourceVersion: "x"} }, wantErr: ErrInvalidResourceVersion},
		"missing":      {pre: func(*corev1.ConfigMap) Preconditions { return Preconditions{} }, name: "missing", wantErr: ErrNotFound},
		"missing, uid": {pre: func(c *corev1.ConfigMap) Preconditions { return Preconditions{UID: c.Metadata.Uid} }, name: "missing", wantErr: ErrNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			created := mustCreate(t, s, "ns", "a")
			target := tc.name
			if target == "" {
				target = "a"
			}
			out, err := s.Delete(ctx, "ns", target, tc.pre(created))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Delete error = %v, want %v", err, tc.wantErr)
			}
			_, gerr := s.Get(ctx, "ns", "a")
			if err != nil {
				if gerr != nil {
					t.Fatalf("failed delete removed the object: %v", gerr)
				}
				return
			}
			if !errors.Is(gerr, ErrNotFound) {
				t.Fatalf("Get after Delete: %v, want ErrNotFound", gerr)
			}
			if rvOf(t, out) <= rvOf(t, created) {
				t.Fatalf("deleted object has resourceVersion %s, want the deletion revision (after %s)", out.Metadata.ResourceVersion, created.Metadata.ResourceVersion)
			}
			out.Metadata.ResourceVersion = created.Metadata.ResourceVersion
			if !proto.Equal(out, created) {
				t.Fatalf("Delete returned %v, want the last state %v", out, created)
			}
		})
	}
}

func TestDeleteNamespace(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for _, k := range []string{"a/1", "a/2", "ab/1", "b/1"} {
		ns, name, _ := strings.Cut(k, "/")
		mustCreate(t, s, ns, name)
	}
	n, err := s.DeleteNamespace(ctx, "a")
	if err != nil || n != 2 {
		t.Fatalf("DeleteNamespace = %d, %v; want 2", n, err)
	}
	res, err := s.List(ctx, "", ListOptions[*corev1.ConfigMap]{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(names(res.Items)), "[ab/1 b/1]"; got != want {
		t.Fatalf("left %s, want %s", got, want)
	}
	if _, err := s.DeleteNamespace(ctx, ""); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("DeleteNamespace(\"\") error = %v, want ErrInvalidKey", err)
	}
}

func TestCurrentRevision(t *testing.T) {
	s := newStore(t)
	out := mustCreate(t, s, "ns", "a")
	rev, err := s.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rev < rvOf(t, out) {
		t.Fatalf("CurrentRevision %d before the last write %d", rev, rvOf(t, out))
	}
}
