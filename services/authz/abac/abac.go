package abac

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
	"github.com/portico-dev/portico/services/authz/authorizer"
)

// NoMatch is the reason of every request no line allows, as
// kube-apiserver words it.
const NoMatch = "No policy matched."

// Authorize allows the request when a line matches it: the subject, then
// the verb (readonly lines allow only get, list and watch), then the
// resource (namespace, resource and API group) or the non-resource path.
func (l List) Authorize(_ context.Context, u *authnv1.UserInfo, a *authzv1.Attributes) (authorizer.Decision, string, error) {
	for _, p := range l {
		if !p.subjectMatches(u.GetUsername(), u.GetGroups()) {
			continue
		}
		if p.Readonly && !readOnly(a.GetVerb()) {
			continue
		}
		if a.GetResourceRequest() {
			if p.resourceMatches(a.GetApiGroup(), a.GetResource(), a.GetNamespace()) {
				return authorizer.Allow, "", nil
			}
		} else if p.nonResourceMatches(a.GetPath()) {
			return authorizer.Allow, "", nil
		}
	}
	return authorizer.NoOpinion, NoMatch, nil
}

// RulesFor lists the lines that apply to u in namespace, as
// kube-apiserver's ABAC does: readonly lines as get, list and watch,
// others as "*"; a line counts only in its namespace ("*" in all), its
// non-resource path included.
func (l List) RulesFor(_ context.Context, u *authnv1.UserInfo, namespace string) (authorizer.Rules, bool, error) {
	var out authorizer.Rules
	for _, p := range l {
		if !p.subjectMatches(u.GetUsername(), u.GetGroups()) || (p.Namespace != "*" && p.Namespace != namespace) {
			continue
		}
		verbs := []string{"*"}
		if p.Readonly {
			verbs = []string{"get", "list", "watch"}
		}
		if p.Resource != "" {
			out.Resource = append(out.Resource, authorizer.ResourceRule{Verbs: verbs, APIGroups: []string{p.APIGroup}, Resources: []string{p.Resource}})
		}
		if p.NonResourcePath != "" {
			out.NonResource = append(out.NonResource, authorizer.NonResourceRule{Verbs: verbs, NonResourceURLs: []string{p.NonResourcePath}})
		}
	}
	return out, false, nil
}

// Options configure the ABAC mode.
type Options struct {
	// PolicyFile is --authorization-policy-file.
	PolicyFile string
	// ReloadInterval is how often the file is checked for changes; 0 is
	// DefaultReloadInterval.
	ReloadInterval time.Duration
	// OnChange is called after a changed file was loaded (caches drop
	// their decisions); may be nil.
	OnChange func()
	Logger   *slog.Logger
}

// DefaultReloadInterval is how often the policy file is checked.
const DefaultReloadInterval = 2 * time.Second

// Validate reports unusable options.
func (o *Options) Validate() error {
	var errs []error
	if o.PolicyFile == "" {
		errs = append(errs, errors.New("ABAC: --authorization-policy-file is required"))
	}
	if o.ReloadInterval < 0 {
		errs = append(errs, errors.New("ABAC: the reload interval must not be negative"))
	}
	if o.Logger == nil {
		errs = append(errs, errors.New("ABAC: a logger is required"))
	}
	return errors.Join(errs...)
}

// Authorizer is the ABAC mode over a file that is re-read when it
// changes. A file that no longer parses keeps the previous policy in
// force, and the log says why.
type Authorizer struct {
	opts    Options
	log     *slog.Logger
	current atomic.Pointer[List]
	sum     [sha256.Size]byte
}

// New reads the policy file; an unreadable or malformed file is an error
// naming the line.
func New(o Options) (*Authorizer, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.ReloadInterval == 0 {
		o.ReloadInterval = DefaultReloadInterval
	}
	a := &Authorizer{opts: o, log: o.Logger.With("mode", "ABAC", "file", o.PolicyFile)}
	data, err := os.ReadFile(o.PolicyFile)
	if err != nil {
		return nil, fmt.Errorf("ABAC: %w", err)
	}
	if err := a.load(data); err != nil {
		return nil, fmt.Errorf("ABAC: %w", err)
	}
	return a, nil
}

func (a *Authorizer) load(data []byte) error {
	res, err := Parse(bytes.NewReader(data), a.opts.PolicyFile)
	if err != nil {
		return err
	}
	if res.Unversioned > 0 {
		a.log.Warn("the policy file has unversioned lines; prefer apiVersion " + APIVersion + ", kind Policy")
	}
	a.current.Store(&res.Policies)
	a.sum = sha256.Sum256(data)
	a.log.Info("policy loaded", "policies", len(res.Policies))
	return nil
}

// Run re-reads the file when its content changes, until ctx ends.
func (a *Authorizer) Run(ctx context.Context) {
	t := time.NewTicker(a.opts.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.Reload()
		}
	}
}

// Reload re-reads the file now if its content changed. It reports whether
// a new policy is in force.
func (a *Authorizer) Reload() bool {
	data, err := os.ReadFile(a.opts.PolicyFile)
	if err != nil {
		a.log.Error("policy file unreadable: keeping the policy in force", "error", err)
		return false
	}
	if sha256.Sum256(data) == a.sum {
		return false
	}
	if err := a.load(data); err != nil {
		a.log.Error("policy file changed but is invalid: keeping the policy in force", "error", err)
		a.sum = sha256.Sum256(data) // do not log the same bad file again
		return false
	}
	if a.opts.OnChange != nil {
		a.opts.OnChange()
	}
	return true
}

// Policies are the policies in force.
func (a *Authorizer) Policies() List { return *a.current.Load() }

// Authorize implements authorizer.Authorizer with the policy in force.
func (a *Authorizer) Authorize(ctx context.Context, u *authnv1.UserInfo, at *authzv1.Attributes) (authorizer.Decision, string, error) {
	return a.Policies().Authorize(ctx, u, at)
}

// RulesFor implements authorizer.RuleResolver with the policy in force.
func (a *Authorizer) RulesFor(ctx context.Context, u *authnv1.UserInfo, namespace string) (authorizer.Rules, bool, error) {
	return a.Policies().RulesFor(ctx, u, namespace)
}
