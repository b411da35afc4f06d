// Package authz is the authorization service: it answers "may they?" by
// the chain of modes given with --authorization-mode, and serves the
// access reviews of authorization.k8s.io/v1.
package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
	"github.com/portico-dev/portico/services/authz/abac"
	"github.com/portico-dev/portico/services/authz/authorizer"
	"github.com/portico-dev/portico/services/authz/informer"
	"github.com/portico-dev/portico/services/authz/node"
	"github.com/portico-dev/portico/services/authz/rbac"
)

// Mode names of --authorization-mode (case-sensitive, as in
// kube-apiserver).
const (
	ModeAlwaysAllow = "AlwaysAllow"
	ModeAlwaysDeny  = "AlwaysDeny"
	ModeABAC        = "ABAC"
	ModeNode        = "Node"
	ModeRBAC        = "RBAC"
)

// Modes are the known modes.
var Modes = []string{ModeAlwaysAllow, ModeAlwaysDeny, ModeABAC, ModeNode, ModeRBAC}

// Options configure authorization.
type Options struct {
	// Modes is --authorization-mode, in order.
	Modes []string
	// PolicyFile is --authorization-policy-file (ABAC).
	PolicyFile string
	// PolicyReloadInterval is how often the policy file is checked for
	// changes; 0 is abac.DefaultReloadInterval.
	PolicyReloadInterval time.Duration
}

// DefaultModes are kubeadm's choice, and fail closed: kubelets get what
// the Node mode gives them, everyone else what RBAC bindings grant — the
// bootstrap bindings let every caller read /healthz, /livez, /readyz and
// /version, and authenticated users discovery — and nothing more.
func DefaultModes() []string { return []string{ModeNode, ModeRBAC} }

// Validate reports unusable options, worded like kube-apiserver's.
func (o *Options) Validate() error {
	var errs []error
	if len(o.Modes) == 0 {
		errs = append(errs, errors.New("--authorization-mode: at least one authorization mode must be passed"))
	}
	seen := map[string]bool{}
	for _, m := range o.Modes {
		if !slices.Contains(Modes, m) {
			errs = append(errs, fmt.Errorf("--authorization-mode: unknown authorization mode %q specified (known: %s)", m, strings.Join(Modes, ", ")))
		}
		if seen[m] {
			errs = append(errs, fmt.Errorf("--authorization-mode: %q given twice", m))
		}
		seen[m] = true
	}
	if seen[ModeABAC] && o.PolicyFile == "" {
		errs = append(errs, errors.New("--authorization-mode ABAC needs --authorization-policy-file"))
	}
	if !seen[ModeABAC] && o.PolicyFile != "" {
		errs = append(errs, errors.New("--authorization-policy-file is only used with --authorization-mode ABAC"))
	}
	if o.PolicyReloadInterval < 0 {
		errs = append(errs, errors.New("the policy reload interval must not be negative"))
	}
	return errors.Join(errs...)
}

// needsAPI reports whether a mode reads objects from the api.
func (o *Options) needsAPI() bool {
	return slices.Contains(o.Modes, ModeNode) || slices.Contains(o.Modes, ModeRBAC)
}

// Deps are what the service is built from.
type Deps struct {
	// API is a connection to the api service made with authz's own
	// certificate; required by the Node and RBAC modes.
	API grpc.ClientConnInterface
	// Authn authenticates callers of the public reviews that come with
	// their own credentials (grpcurl).
	Authn  Authenticator
	Logger *slog.Logger
}

// Service implements portico.authz.v1.AuthorizationService; Reviews
// implements AccessReviewService.
type Service struct {
	authzv1.UnimplementedAuthorizationServiceServer
	chain authorizer.Chain
	gen   *generation
	log   *slog.Logger
	authn Authenticator

	abac   *abac.Authorizer
	runs   []func(context.Context)
	synced []func() bool
}

// New builds the service and its chain of modes. A malformed ABAC policy
// file is an error that names the line.
func New(o Options, d Deps) (*Service, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if d.Logger == nil {
		return nil, errors.New("authz: a logger is required")
	}
	if o.needsAPI() && d.API == nil {
		return nil, errors.New("authz: the Node and RBAC modes need a connection to the api")
	}
	s := &Service{gen: newGeneration(), log: d.Logger, authn: d.Authn}
	chain, err := authorizer.FromModes(o.Modes, func(mode string) (authorizer.Authorizer, error) {
		switch mode {
		case ModeABAC:
			a, err := abac.New(abac.Options{PolicyFile: o.PolicyFile, ReloadInterval: o.PolicyReloadInterval, OnChange: s.gen.bump, Logger: d.Logger})
			if err != nil {
				return nil, err
			}
			s.abac = a
			s.runs = append(s.runs, a.Run)
			return a, nil
		case ModeNode:
			g := node.NewGraph(s.gen.bump)
			src, err := informer.NewSource[*corev1.Pod](d.API, "portico.core.v1.PodService", "Pods")
			if err != nil {
				return nil, err
			}
			s.runs = append(s.runs, func(ctx context.Context) { informer.Run(ctx, src, g, d.Logger, nil) })
			s.synced = append(s.synced, g.Synced)
			return node.New(g), nil
		case ModeRBAC:
			st := rbac.NewStore(s.gen.bump)
			runs, err := rbacInformers(d.API, st, d.Logger)
			if err != nil {
				return nil, err
			}
			s.runs = append(s.runs, runs...)
			s.synced = append(s.synced, st.Synced)
			return rbac.New(st), nil
		}
		return nil, fmt.Errorf("unknown authorization mode %q", mode)
	})
	if err != nil {
		return nil, err
	}
	s.chain = chain
	return s, nil
}

func rbacInformers(conn grpc.ClientConnInterface, st *rbac.Store, log *slog.Logger) ([]func(context.Context), error) {
	roles, err := informer.NewSource[*rbacv1.Role](conn, "portico.rbac.v1.RoleService", "Roles")
	if err != nil {
		return nil, err
	}
	clusterRoles, err := informer.NewSource[*rbacv1.ClusterRole](conn, "portico.rbac.v1.ClusterRoleService", "ClusterRoles")
	if err != nil {
		return nil, err
	}
	roleBindings, err := informer.NewSource[*rbacv1.RoleBinding](conn, "portico.rbac.v1.RoleBindingService", "RoleBindings")
	if err != nil {
		return nil, err
	}
	clusterRoleBindings, err := informer.NewSource[*rbacv1.ClusterRoleBinding](conn, "portico.rbac.v1.ClusterRoleBindingService", "ClusterRoleBindings")
	if err != nil {
		return nil, err
	}
	return []func(context.Context){
		func(ctx context.Context) { informer.Run(ctx, roles, st.Roles(), log, nil) },
		func(ctx context.Context) { informer.Run(ctx, clusterRoles, st.ClusterRoles(), log, nil) },
		func(ctx context.Context) { informer.Run(ctx, roleBindings, st.RoleBindingsHandler(), log, nil) },
		func(ctx context.Context) {
			informer.Run(ctx, clusterRoleBindings, st.ClusterRoleBindingsHandler(), log, nil)
		},
	}, nil
}

// Run re-reads the policy file and keeps the informers current until ctx
// ends.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, run := range s.runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(ctx)
		}()
	}
	wg.Wait()
}

// Synced reports whether every mode that reads from the api has listed
// its objects once.
func (s *Service) Synced() bool {
	for _, f := range s.synced {
		if !f() {
			return false
		}
	}
	return true
}

// WaitSynced waits until Synced, or ctx ends (false).
func (s *Service) WaitSynced(ctx context.Context) bool {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for !s.Synced() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// Register adds both services to a gRPC server.
func (s *Service) Register(r grpc.ServiceRegistrar) {
	authzv1.RegisterAuthorizationServiceServer(r, s)
	authzv1.RegisterAccessReviewServiceServer(r, &reviews{s: s})
}

// decide runs the chain. A mode's error with no decision is Internal
// (HTTP 500), never an allow.
func (s *Service) decide(ctx context.Context, req *authzv1.AuthorizeRequest) (*authzv1.AuthorizeResponse, error) {
	gen := s.gen.current()
	d, reason, err := s.chain.Authorize(ctx, req.GetUser(), req.GetAttributes())
	if err != nil && d != authorizer.Allow && d != authorizer.Deny {
		s.log.ErrorContext(ctx, "authorization failed", "user", req.GetUser().GetUsername(), "error", err)
		return nil, status.Error(failureCode(err), "authorization failed: "+err.Error())
	}
	out := &authzv1.AuthorizeResponse{Reason: reason, Generation: gen}
	switch d {
	case authorizer.Allow:
		out.Decision = authzv1.Decision_DECISION_ALLOW
	case authorizer.Deny:
		out.Decision = authzv1.Decision_DECISION_DENY
	default:
		out.Decision = authzv1.Decision_DECISION_NO_OPINION
	}
	return out, nil
}

// failureCode is the gRPC code of a decision no mode could make: a mode
// still listing its objects (just after start) is Unavailable, a
// transient 503 the client may retry; any other failure is Internal, a
// 500, never an allow.
func failureCode(err error) codes.Code {
	if errors.Is(err, node.ErrNotSynced) || errors.Is(err, rbac.ErrNotSynced) {
		return codes.Unavailable
	}
	return codes.Internal
}

// Authorize implements the RPC.
func (s *Service) Authorize(ctx context.Context, req *authzv1.AuthorizeRequest) (*authzv1.AuthorizeResponse, error) {
	if req.GetUser().GetUsername() == "" || req.GetAttributes() == nil {
		return nil, status.Error(codes.InvalidArgument, "user and attributes are required")
	}
	return s.decide(ctx, req)
}

// WatchPolicy implements the RPC: the generation now, then each new one.
func (s *Service) WatchPolicy(_ *authzv1.WatchPolicyRequest, stream grpc.ServerStreamingServer[authzv1.WatchPolicyResponse]) error {
	for {
		gen, changed := s.gen.watch()
		if err := stream.Send(&authzv1.WatchPolicyResponse{Generation: gen}); err != nil {
			return err
		}
		select {
		case <-stream.Context().Done():
			return nil
		case <-changed:
		}
	}
}

// ConfirmNoEscalation implements the RPC: the user's rules in the
// namespace, from every mode that can list them, must cover the rules.
func (s *Service) ConfirmNoEscalation(ctx context.Context, req *authzv1.ConfirmNoEscalationRequest) (*authzv1.ConfirmNoEscalationResponse, error) {
	if req.GetUser().GetUsername() == "" {
		return nil, status.Error(codes.InvalidArgument, "user is required")
	}
	held, incomplete, err := s.chain.RulesFor(ctx, req.GetUser(), req.GetNamespace())
	if err != nil {
		s.log.WarnContext(ctx, "listing rules for an escalation check", "user", req.GetUser().GetUsername(), "error", err)
	}
	ok, missing := rbac.Covers(held, req.GetRules())
	return &authzv1.ConfirmNoEscalationResponse{Covered: ok, Missing: missing, Incomplete: incomplete}, nil
}

// generation is the policy generation and a broadcast of its changes.
// It starts from the clock so a restarted authz never repeats one.
type generation struct {
	mu      sync.Mutex
	n       uint64
	changed chan struct{}
}

func newGeneration() *generation {
	return &generation{n: uint64(time.Now().UnixNano()), changed: make(chan struct{})}
}

func (g *generation) current() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// watch returns the generation and a channel closed when it changes.
func (g *generation) watch() (uint64, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n, g.changed
}

func (g *generation) bump() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	close(g.changed)
	g.changed = make(chan struct{})
}
