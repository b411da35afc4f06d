package api

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/apierrors"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

func TestGenerateName(t *testing.T) {
	fixed := func() string { return "abcde" }
	tests := map[string]struct {
		base, want string
	}{
		"short":      {base: "web-", want: "web-abcde"},
		"58 chars":   {base: strings.Repeat("a", 58), want: strings.Repeat("a", 58) + "abcde"},
		"cut to 58":  {base: strings.Repeat("b", 70), want: strings.Repeat("b", 58) + "abcde"},
		"empty base": {base: "", want: "abcde"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := generateName(tc.base, fixed); got != tc.want {
				t.Errorf("generateName(%q) = %q, want %q", tc.base, got, tc.want)
			}
		})
	}
}

func TestRandomSuffix(t *testing.T) {
	seen := map[byte]bool{}
	for range 2000 {
		s := randomSuffix()
		if len(s) != 5 {
			t.Fatalf("suffix %q is not 5 characters", s)
		}
		for i := range len(s) {
			if !strings.ContainsRune(suffixAlphabet, rune(s[i])) {
				t.Fatalf("suffix %q has %q, not in kube's alphabet", s, s[i])
			}
			seen[s[i]] = true
		}
	}
	if len(seen) != len(suffixAlphabet) {
		t.Errorf("10000 characters drew %d of the alphabet's %d", len(seen), len(suffixAlphabet))
	}
}

// names is a deterministic suffix source: it answers the given suffixes in
// order, then "fresh<n>".
type names struct {
	mu   sync.Mutex
	next []string
	n    int
}

func (s *names) suffix() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if len(s.next) > 0 {
		out := s.next[0]
		s.next = s.next[1:]
		return out
	}
	return "fresh" + strconv.Itoa(s.n)
}

// TestGenerateNameRetried: a create with generateName whose name is taken
// is tried again with a new suffix, up to kube-apiserver's 8 names.
func TestGenerateNameRetried(t *testing.T) {
	c := newAPI(t)
	ns := newNamespace(t, c)
	const taken = "cm-taken"
	if _, err := c.cm.CreateConfigMap(t.Context(), &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: configMap(taken, nil)}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		collisions int
		wantName   string // "" when the create fails
	}{
		"no collision":        {collisions: 0, wantName: "cm-fresh1"},
		"one collision":       {collisions: 1, wantName: "cm-fresh2"},
		"seven collisions":    {collisions: 7, wantName: "cm-fresh8"},
		"every name is taken": {collisions: maxGenerateNameAttempts},
		"more than are tried": {collisions: maxGenerateNameAttempts + 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src := &names{}
			for range tc.collisions {
				src.next = append(src.next, "taken")
			}
			c.svc.configMaps.suffix = src.suffix
			resp, err := c.cm.CreateConfigMap(t.Context(), &corev1.CreateConfigMapRequest{Namespace: ns,
				ConfigMap: &corev1.ConfigMap{Metadata: &corev1.ObjectMeta{GenerateName: "cm-"}}})
			if tc.wantName == "" {
				if reason(err) != apierrors.ReasonAlreadyExists {
					t.Fatalf("create = %v, want AlreadyExists", err)
				}
				if src.n != maxGenerateNameAttempts {
					t.Errorf("%d names tried, want %d", src.n, maxGenerateNameAttempts)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.GetConfigMap().GetMetadata().GetName(); got != tc.wantName {
				t.Errorf("name %q, want %q", got, tc.wantName)
			}
			if _, err := c.cm.DeleteConfigMap(t.Context(), &corev1.DeleteConfigMapRequest{Namespace: ns, Name: tc.wantName}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMetadataOnly: Get, List and Watch with metadata_only answer the
// objects' metadata in the PartialObjectMetadata fields.
func TestMetadataOnly(t *testing.T) {
	c := newAPI(t)
	ns := newNamespace(t, c)
	for i := range 2 {
		cm := configMap(fmt.Sprintf("cm%d", i), map[string]string{"big": strings.Repeat("x", 1000)})
		cm.Metadata.Labels = map[string]string{"app": "a"}
		if _, err := c.cm.CreateConfigMap(t.Context(), &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: cm}); err != nil {
			t.Fatal(err)
		}
	}
	checkMeta := func(t *testing.T, m *corev1.PartialObjectMetadata, name string) {
		t.Helper()
		if m.GetMetadata().GetName() != name || m.GetMetadata().GetLabels()["app"] != "a" || m.GetMetadata().GetUid() == "" {
			t.Errorf("metadata %v, want %s's", m.GetMetadata(), name)
		}
	}
	t.Run("get", func(t *testing.T) {
		resp, err := c.cm.GetConfigMap(t.Context(), &corev1.GetConfigMapRequest{Namespace: ns, Name: "cm0", MetadataOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if resp.ConfigMap != nil {
			t.Errorf("the whole ConfigMap was answered too")
		}
		checkMeta(t, resp.GetPartialObjectMetadata(), "cm0")
	})
	t.Run("list", func(t *testing.T) {
		resp, err := c.cm.ListConfigMaps(t.Context(), &corev1.ListConfigMapsRequest{Namespace: ns, MetadataOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Items) != 0 || len(resp.PartialObjectMetadataItems) != 2 || resp.GetMetadata().GetResourceVersion() == "" {
			t.Fatalf("list %d items, %d partial, rv %q; want 0, 2 and a resourceVersion", len(resp.Items), len(resp.PartialObjectMetadataItems), resp.GetMetadata().GetResourceVersion())
		}
		checkMeta(t, resp.PartialObjectMetadataItems[1], "cm1")
	})
	t.Run("watch", func(t *testing.T) {
		stream, err := c.cm.WatchConfigMaps(t.Context(), &corev1.WatchConfigMapsRequest{Namespace: ns, MetadataOnly: true, TimeoutSeconds: 10})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != eventAdded || ev.Object != nil {
			t.Errorf("event %s with object %v, want ADDED with none", ev.Type, ev.Object)
		}
		checkMeta(t, ev.GetPartialObjectMetadata(), "cm0")
	})
}

// TestWatchBookmarks: a watch that allows bookmarks gets them every
// interval, at a revision not older than its events, and one before its
// timeout; a watch that does not gets none.
func TestWatchBookmarks(t *testing.T) {
	tests := map[string]struct {
		interval time.Duration
		allow    bool
		timeout  int64
		// min and max bookmarks
		min, max int
	}{
		"every interval":     {interval: 300 * time.Millisecond, allow: true, timeout: 4, min: 3, max: 10},
		"before the timeout": {interval: time.Minute, allow: true, timeout: 3, min: 1, max: 1},
		"not allowed":        {interval: 300 * time.Millisecond, timeout: 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newAPIOptions(t, nopAuthn{}, Options{WatchBookmarkInterval: tc.interval})
			ns := newNamespace(t, c)
			created, err := c.cm.CreateConfigMap(t.Context(), &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: configMap("a", nil)})
			if err != nil {
				t.Fatal(err)
			}
			rv := parseRevision(created.GetConfigMap().GetMetadata().GetResourceVersion())
			stream, err := c.cm.WatchConfigMaps(t.Context(), &corev1.WatchConfigMapsRequest{Namespace: ns, AllowWatchBookmarks: tc.allow, TimeoutSeconds: tc.timeout})
			if err != nil {
				t.Fatal(err)
			}
			bookmarks := 0
			for {
				ev, err := stream.Recv()
				if err != nil {
					break // the timeout ended the watch
				}
				if ev.Type != eventBookmark {
					rv = max(rv, parseRevision(ev.GetObject().GetMetadata().GetResourceVersion()))
					continue
				}
				bookmarks++
				got := parseRevision(ev.GetObject().GetMetadata().GetResourceVersion())
				if got < rv {
					t.Errorf("bookmark at %d, older than an event sent before it at %d", got, rv)
				}
				if len(ev.GetObject().GetData()) != 0 || ev.GetObject().GetMetadata().GetName() != "" {
					t.Errorf("bookmark object %v has more than a resourceVersion", ev.GetObject())
				}
				if bookmarks == 1 {
					// Bookmarks after its event are not older.
					if _, err := c.cm.CreateConfigMap(t.Context(), &corev1.CreateConfigMapRequest{Namespace: ns, ConfigMap: configMap("b", nil)}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if bookmarks < tc.min || bookmarks > tc.max {
				t.Errorf("%d bookmarks, want %d to %d", bookmarks, tc.min, tc.max)
			}
		})
	}
}

func TestNextBookmark(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		deadline time.Time
		want     time.Time
		ok       bool
	}{
		"no timeout":          {want: now.Add(time.Minute), ok: true},
		"timeout far away":    {deadline: now.Add(10 * time.Minute), want: now.Add(time.Minute), ok: true},
		"timeout sooner":      {deadline: now.Add(30 * time.Second), want: now.Add(28 * time.Second), ok: true},
		"timeout in 2s":       {deadline: now.Add(2 * time.Second), want: now, ok: true},
		"timeout in 1s: none": {deadline: now.Add(time.Second)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := nextBookmark(now, time.Minute, tc.deadline)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Errorf("nextBookmark = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestBookmarkFallback: a bookmark etcd does not answer for is sent at
// the last revision seen.
func TestBookmarkFallback(t *testing.T) {
	b := newBookmarks(true, time.Hour, time.Time{}, 4)
	defer b.stop()
	b.seen(7)
	if _, ok := b.fired(); ok {
		t.Fatal("the first firing sent a bookmark; want a progress request")
	}
	if rv, ok := b.fired(); !ok || rv != 7 {
		t.Errorf("second firing = %d, %v; want 7, true", rv, ok)
	}
	if _, ok := b.progress(9); ok {
		t.Error("a late progress notification sent a second bookmark")
	}
}

func TestBookmarkProgress(t *testing.T) {
	tests := map[string]struct {
		enabled, requested bool
		seen, progress     int64
		want               int64
		ok                 bool
	}{
		"due":                        {enabled: true, requested: true, seen: 5, progress: 9, want: 9, ok: true},
		"never older than an event":  {enabled: true, requested: true, seen: 12, progress: 9, want: 12, ok: true},
		"not due: another's request": {enabled: true, seen: 5, progress: 9},
		"not allowed":                {requested: true, seen: 5, progress: 9},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := newBookmarks(tc.enabled, time.Hour, time.Time{}, 1)
			defer b.stop()
			if tc.requested {
				b.pending = true
			}
			b.seen(tc.seen)
			got, ok := b.progress(tc.progress)
			if got != tc.want || ok != tc.ok {
				t.Errorf("progress = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
