package storage

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

type cmListOptions = ListOptions[*corev1.ConfigMap]

func TestListNamespaces(t *testing.T) {
	s := newStore(t)
	for _, k := range []string{"b/2", "a/1", "ab/1", "b/1", "a/2"} {
		ns, name, _ := strings.Cut(k, "/")
		mustCreate(t, s, ns, name)
	}
	tests := map[string]struct {
		namespace string
		want      string
		wantErr   error
	}{
		"all namespaces, key order": {namespace: "", want: "[a/1 a/2 ab/1 b/1 b/2]"},
		"one namespace":             {namespace: "a", want: "[a/1 a/2]"},
		"prefix of another":         {namespace: "ab", want: "[ab/1]"},
		"empty namespace":           {namespace: "c", want: "[]"},
		"invalid namespace":         {namespace: "a/1", wantErr: ErrInvalidKey},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := s.List(t.Context(), tc.namespace, cmListOptions{})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("List error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got := fmt.Sprint(names(res.Items)); got != tc.want {
				t.Fatalf("List = %s, want %s", got, tc.want)
			}
			if res.Continue != "" || res.RemainingItemCount != nil {
				t.Fatalf("unpaged list has continue %q / remaining %v", res.Continue, res.RemainingItemCount)
			}
			if _, err := strconv.ParseInt(res.ResourceVersion, 10, 64); err != nil {
				t.Fatalf("list resourceVersion %q", res.ResourceVersion)
			}
			for _, it := range res.Items {
				if it.Metadata.ResourceVersion == "" {
					t.Fatalf("item %s without resourceVersion", it.Metadata.Name)
				}
			}
		})
	}
}

// listAll pages through a list and returns the pages' names, checking that
// every page reports the first page's resourceVersion.
func listAll(t *testing.T, s *Store[*corev1.ConfigMap], namespace string, o cmListOptions, between func(page int)) (pages [][]string, remaining []*int64, rv string) {
	t.Helper()
	for page := 0; ; page++ {
		res, err := s.List(t.Context(), namespace, o)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if rv == "" {
			rv = res.ResourceVersion
		} else if res.ResourceVersion != rv {
			t.Fatalf("page %d at resourceVersion %s, first page at %s", page, res.ResourceVersion, rv)
		}
		pages = append(pages, names(res.Items))
		remaining = append(remaining, res.RemainingItemCount)
		if res.Continue == "" {
			return pages, remaining, rv
		}
		if page > 100 {
			t.Fatal("too many pages")
		}
		if between != nil {
			between(page)
		}
		o.Continue = res.Continue
	}
}

func TestListPagination(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for i := range 5 {
		mustCreate(t, s, "ns", fmt.Sprintf("o%d", i))
	}
	mustCreate(t, s, "other", "o9")

	// Writes between pages: none of them may show in the later pages.
	between := func(page int) {
		if page != 0 {
			return
		}
		mustCreate(t, s, "ns", "o1a") // would sort into page 2
		if _, err := s.Delete(ctx, "ns", "o3", Preconditions{}); err != nil {
			t.Fatal(err)
		}
		o4, err := s.Get(ctx, "ns", "o4")
		if err != nil {
			t.Fatal(err)
		}
		o4.Data = map[string]string{"k": "changed"}
		if _, err := s.Update(ctx, "ns", "o4", o4); err != nil {
			t.Fatal(err)
		}
	}
	pages, remaining, rv := listAll(t, s, "ns", cmListOptions{Limit: 2}, between)
	if got, want := fmt.Sprint(pages), "[[ns/o0 ns/o1] [ns/o2 ns/o3] [ns/o4]]"; got != want {
		t.Fatalf("pages %s, want %s", got, want)
	}
	var rem []string
	for _, r := range remaining {
		if r == nil {
			rem = append(rem, "nil")
		} else {
			rem = append(rem, strconv.FormatInt(*r, 10))
		}
	}
	if got, want := strings.Join(rem, " "), "3 1 nil"; got != want {
		t.Fatalf("remaining item counts %s, want %s", got, want)
	}

	// The object changed between pages is served in its old state.
	res, err := s.List(ctx, "ns", cmListOptions{Limit: 1, Continue: encodeContinue(mustParse(t, rv), "o4")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || res.Items[0].Data["k"] != "v" {
		t.Fatalf("continued page shows %v, want the state at the first page's revision", res.Items)
	}

	// An exact multiple of the limit ends without an empty page.
	pages, _, _ = listAll(t, s, "other", cmListOptions{Limit: 1}, nil)
	if got, want := fmt.Sprint(pages), "[[other/o9]]"; got != want {
		t.Fatalf("pages %s, want %s", got, want)
	}
}

func mustParse(t *testing.T, rv string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestListFilter(t *testing.T) {
	s := newStore(t)
	for i := range 20 {
		mustCreate(t, s, "ns", fmt.Sprintf("o%02d", i))
	}
	even := func(c *corev1.ConfigMap) bool {
		n, _ := strconv.Atoi(strings.TrimPrefix(c.Metadata.Name, "o"))
		return n%2 == 0
	}
	tests := map[string]struct {
		o         cmListOptions
		wantPages string
	}{
		"filter, no limit": {o: cmListOptions{Filter: even}, wantPages: "[[ns/o00 ns/o02 ns/o04 ns/o06 ns/o08 ns/o10 ns/o12 ns/o14 ns/o16 ns/o18]]"},
		"filter fills limit": {o: cmListOptions{Filter: even, Limit: 4},
			wantPages: "[[ns/o00 ns/o02 ns/o04 ns/o06] [ns/o08 ns/o10 ns/o12 ns/o14] [ns/o16 ns/o18]]"},
		"selective filter": {o: cmListOptions{Limit: 2, Filter: func(c *corev1.ConfigMap) bool { return c.Metadata.Name >= "o17" }},
			wantPages: "[[ns/o17 ns/o18] [ns/o19]]"},
		"filter matches nothing": {o: cmListOptions{Limit: 3, Filter: func(*corev1.ConfigMap) bool { return false }}, wantPages: "[[]]"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pages, remaining, _ := listAll(t, s, "ns", tc.o, nil)
			if got := fmt.Sprint(pages); got != tc.wantPages {
				t.Fatalf("pages %s, want %s", got, tc.wantPages)
			}
			for i, r := range remaining {
				if r != nil {
					t.Fatalf("page %d: remaining item count %d with a filter, want none", i, *r)
				}
			}
		})
	}
}

func TestListLargeUnpaged(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	// More than one internal batch, written directly for speed.
	const n = maxListBatch + 5
	ops := make([]clientv3.Op, 0, 100)
	for i := range n {
		name := fmt.Sprintf("o%05d", i)
		data, _ := marshalOptions.Marshal(cm("ns", name, nil))
		ops = append(ops, clientv3.OpPut(s.Key("ns", name), string(data)))
		if len(ops) == cap(ops) || i == n-1 {
			if _, err := testClient.Txn(ctx).Then(ops...).Commit(); err != nil {
				t.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	res, err := s.List(ctx, "ns", cmListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != n || res.Continue != "" {
		t.Fatalf("got %d items, continue %q; want %d, none", len(res.Items), res.Continue, n)
	}
	keys := make([]string, len(res.Items))
	for i, it := range res.Items {
		keys[i] = it.Metadata.Name
	}
	if !slices.IsSorted(keys) || keys[0] != "o00000" || keys[n-1] != fmt.Sprintf("o%05d", n-1) {
		t.Fatalf("items not all there in key order: first %s, last %s", keys[0], keys[n-1])
	}
}

func TestListInvalid(t *testing.T) {
	s := newStore(t)
	mustCreate(t, s, "ns", "a")
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := map[string]struct {
		o       cmListOptions
		wantErr error
	}{
		"not base64":         {o: cmListOptions{Continue: "!!!"}, wantErr: ErrInvalidContinue},
		"not json":           {o: cmListOptions{Continue: b64("nope")}, wantErr: ErrInvalidContinue},
		"no revision":        {o: cmListOptions{Continue: b64(`{"v":"meta.k8s.io/v1","start":"a"}`)}, wantErr: ErrInvalidContinue},
		"no start":           {o: cmListOptions{Continue: b64(`{"v":"meta.k8s.io/v1","rv":5}`)}, wantErr: ErrInvalidContinue},
		"unknown version":    {o: cmListOptions{Continue: b64(`{"v":"x","rv":5,"start":"a"}`)}, wantErr: ErrInvalidContinue},
		"continue and rv":    {o: cmListOptions{Continue: encodeContinue(5, "a"), ResourceVersion: "5"}, wantErr: ErrInvalidContinue},
		"invalid rv":         {o: cmListOptions{ResourceVersion: "abc"}, wantErr: ErrInvalidResourceVersion},
		"future rv":          {o: cmListOptions{ResourceVersion: "999999999"}, wantErr: ErrResourceVersionTooLarge},
		"future continue rv": {o: cmListOptions{Continue: encodeContinue(999999999, "a")}, wantErr: ErrResourceVersionTooLarge},
		"rv 0 is latest":     {o: cmListOptions{ResourceVersion: "0"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := s.List(t.Context(), "ns", tc.o)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("List error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestListAtRevision reads old snapshots, then compacts them away.
// It compacts the shared etcd, which only affects revisions older than
// every other test's own writes.
func TestListAtRevision(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	a := mustCreate(t, s, "ns", "a")
	mustCreate(t, s, "ns", "b")
	first, err := s.List(ctx, "ns", cmListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "ns", "c")

	old, err := s.List(ctx, "ns", cmListOptions{ResourceVersion: a.Metadata.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(names(old.Items)), "[ns/a]"; got != want || old.ResourceVersion != a.Metadata.ResourceVersion {
		t.Fatalf("list at %s = %s at %s, want %s", a.Metadata.ResourceVersion, got, old.ResourceVersion, want)
	}

	rev, err := s.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testClient.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	tests := map[string]cmListOptions{
		"continue from compacted revision": {Limit: 1, Continue: first.Continue},
		"list at compacted revision":       {ResourceVersion: a.Metadata.ResourceVersion},
	}
	for name, o := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := s.List(ctx, "ns", o); !errors.Is(err, ErrGone) {
				t.Fatalf("List error = %v, want ErrGone", err)
			}
		})
	}
}
