// Package api is the resource service: it owns the Kubernetes objects and
// their storage in etcd, and serves them over gRPC (portico.core.v1). Every
// call passes the same chain: recovery, logging, authentication (the
// gateway's forwarded user, or the caller's own credentials checked by
// authn), authorization (authz), then the handler.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/portico-dev/portico/internal/resources"
	"github.com/portico-dev/portico/internal/svcauth"
	"github.com/portico-dev/portico/internal/typeschema"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
	"github.com/portico-dev/portico/services/api/noderestriction"
	"github.com/portico-dev/portico/services/api/storage"
	"github.com/portico-dev/portico/services/api/storage/value"
)

// Deps are what the service is built from.
type Deps struct {
	Etcd     *clientv3.Client
	Authn    Authenticator
	Authz    Authorizer
	Verifier *svcauth.Verifier
	Logger   *slog.Logger
	// JSON is the Kubernetes JSON codec patches apply to.
	JSON Codec
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Encryption gives the value transformer of each resource (encryption
	// at rest, --encryption-provider-config); nil, or a nil transformer
	// for a resource, stores its objects as they are.
	Encryption Transformers
	// WatchCache, when set, serves reads and watches of every resource
	// from memory kept current by one etcd watch each (--watch-cache);
	// nil serves them from etcd. Close stops the caches.
	WatchCache *storage.CacheOptions
	// Options tune the service; a zero field takes its default.
	Options Options
}

// DefaultWatchBookmarkInterval is how often a watch that allows bookmarks
// gets one: about every minute, as kube-apiserver's watch cache.
const DefaultWatchBookmarkInterval = time.Minute

// Options tune the service.
type Options struct {
	// WatchBookmarkInterval is how often a watch with allowWatchBookmarks
	// gets a BOOKMARK; one also comes two seconds before its
	// timeoutSeconds ends. 0 is DefaultWatchBookmarkInterval.
	WatchBookmarkInterval time.Duration
}

// Validate reports options out of range.
func (o *Options) Validate() error {
	if o.WatchBookmarkInterval < 0 {
		return fmt.Errorf("api: the watch bookmark interval %s is negative", o.WatchBookmarkInterval)
	}
	return nil
}

// Transformers gives the value transformer of a resource by group and
// resource ("" and "secrets"); nil means none.
type Transformers interface {
	TransformerFor(group, resource string) value.Transformer
}

// Validate reports missing dependencies.
func (d *Deps) Validate() error {
	var errs []error
	if d.Etcd == nil {
		errs = append(errs, errors.New("api: an etcd client is required"))
	}
	if d.Authn == nil || d.Authz == nil {
		errs = append(errs, errors.New("api: authn and authz clients are required"))
	}
	if d.Verifier == nil {
		errs = append(errs, errors.New("api: the internal CA verifier is required"))
	}
	if d.Logger == nil {
		errs = append(errs, errors.New("api: a logger is required"))
	}
	if d.JSON == nil {
		errs = append(errs, errors.New("api: a JSON codec is required"))
	}
	if err := d.Options.Validate(); err != nil {
		errs = append(errs, err)
	}
	if d.WatchCache != nil {
		if err := d.WatchCache.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("api: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Service serves the core resources.
type Service struct {
	authn    Authenticator
	authz    Authorizer
	verifier *svcauth.Verifier
	log      *slog.Logger
	methods  methodTable

	namespaces      *resource[*corev1.Namespace]
	configMaps      *resource[*corev1.ConfigMap]
	serviceAccounts *resource[*corev1.ServiceAccount]
	pods            *resource[*corev1.Pod]
	nodes           *resource[*corev1.Node]
	secrets         *resource[*corev1.Secret]
	// priorityClasses is served by the generic engine.
	priorityClasses *resource[storage.Object]
	// nodeRestriction limits what kubelets write (noderestriction.go).
	nodeRestriction *noderestriction.Admission
	handlers        []kindHandler
	// stops ends what runs in the background (the watch caches).
	stops []func()

	// RBAC: the escalation checks (rbac_escalation.go) and the bootstrap
	// policy (rbac_bootstrap.go).
	escalation EscalationChecker
	rbac       *rbacKinds
	roleRules  func(ctx context.Context, ref *rbacv1.RoleRef, namespace string) ([]*rbacv1.PolicyRule, error)
}

// New builds the service.
func New(d Deps) (*Service, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	s := &Service{authn: d.Authn, authz: d.Authz, verifier: d.Verifier, log: d.Logger, methods: methodTable{}}
	s.escalation, _ = d.Authz.(EscalationChecker)
	table := map[protoreflect.FullName]resources.Resource{}
	for _, row := range resources.All() {
		table[row.New().ProtoReflect().Descriptor().FullName()] = row
	}
	schema, err := typeschema.Served()
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	bookmarks := d.Options.WatchBookmarkInterval
	if bookmarks == 0 {
		bookmarks = DefaultWatchBookmarkInterval
	}
	env := kindEnv{etcd: d.Etcd, now: now, codec: d.JSON, nsActive: s.namespaceActive, table: table, encryption: d.Encryption, bookmarkInterval: bookmarks, stops: &s.stops,
		schema: schema, log: d.Logger}
	if d.WatchCache != nil {
		wc := *d.WatchCache
		if wc.Logger == nil {
			wc.Logger = d.Logger
		}
		env.watchCache = &wc
	}
	s.handlers = s.kinds(env)
	return s, nil
}

// Close stops the watch caches; their watches end.
func (s *Service) Close() {
	for _, stop := range s.stops {
		stop()
	}
}

// RewriteStale stores again, under the current write provider and key,
// every object of every encrypted resource that an older key (or none)
// wrote: the last step of a key rotation (see storage.Store.RewriteStale;
// concurrent writes are never lost). It logs and returns how many objects
// each resource had rewritten, by plural ("secrets"); resources without a
// transformer are skipped.
func (s *Service) RewriteStale(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{}
	for _, h := range s.handlers {
		r, ok := h.(interface {
			rewriteStale(context.Context) (int, bool, error)
		})
		if !ok {
			continue
		}
		n, encrypted, err := r.rewriteStale(ctx)
		if !encrypted {
			continue
		}
		m := h.meta()
		name := m.plural
		if m.group != "" {
			name += "." + m.group
		}
		counts[name] = n
		if err != nil {
			return counts, fmt.Errorf("api: rewrite %s: %w", name, err)
		}
		s.log.Info("encrypted resource rewritten under the current key", "resource", name, "rewritten", n)
	}
	return counts, nil
}

// Register adds every resource service to a gRPC server.
func (s *Service) Register(r grpc.ServiceRegistrar) error {
	for _, k := range s.handlers {
		if err := s.register(r, k); err != nil {
			return fmt.Errorf("api: %w", err)
		}
	}
	return nil
}

// AuthFunc authenticates every call (for grpcserver.Options.Auth).
func (s *Service) AuthFunc() func(context.Context) (context.Context, error) {
	return s.authenticate
}

// UnaryAuthorizer and StreamAuthorizer authorize every call after
// authentication (for grpcserver.Options.Unary/Stream).
func (s *Service) UnaryAuthorizer() grpc.UnaryServerInterceptor { return s.authorizeUnary }

// StreamAuthorizer is UnaryAuthorizer for streams.
func (s *Service) StreamAuthorizer() grpc.StreamServerInterceptor { return s.authorizeStream }
