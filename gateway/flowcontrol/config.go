// Package flowcontrol is Portico's API Priority and Fairness: it sorts
// each request into a flow schema, the schema names a priority level,
// and each level shares out its own seats among the flows (users, or
// namespaces) that want them, queuing the rest. One flow with many
// requests fills only its own queue: the next free seat goes to the flow
// with the fewest requests executing. Watches take no seat; they are
// counted per user instead.
//
// The configuration is kube-apiserver's mandatory and suggested one
// (DefaultConfig), fixed in code: Portico serves no FlowSchema or
// PriorityLevelConfiguration objects.
package flowcontrol

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Request is what classification reads of a request.
type Request struct {
	User   string
	Groups []string
	// ResourceRequest is false for a non-resource path (/version, /healthz).
	ResourceRequest bool
	Verb            string // get, list, watch, create, update, patch, delete, ...
	APIGroup        string
	Resource        string
	Namespace       string
	Path            string
}

// Distinguisher says what tells the flows of a schema apart.
type Distinguisher int

const (
	// ByNone puts every request of the schema in one flow.
	ByNone Distinguisher = iota
	// ByUser gives each user name its own flow (kube's "ByUser").
	ByUser
	// ByNamespace gives each namespace its own flow (kube's
	// "ByNamespace"); cluster-scoped requests share one.
	ByNamespace
)

// LevelConfig is one priority level.
type LevelConfig struct {
	Name string
	// Exempt levels are never limited nor queued.
	Exempt bool
	// Shares is the level's part of the total seats: a level gets
	// ceil(Seats * Shares / sum of Shares), at least one.
	Shares int
	// QueueLengthLimit bounds one flow's waiting requests; 0 means no
	// queuing: a request finding no free seat is rejected at once.
	QueueLengthLimit int
	// MaxWaiting bounds the requests waiting in the level, all flows
	// together; 0 means QueueLengthLimit * 128.
	MaxWaiting int
}

// Schema is one flow schema: requests it matches go to Level, in flows
// told apart by Distinguisher. Schemas are tried in order; the first
// match wins.
type Schema struct {
	Name          string
	Level         string
	Distinguisher Distinguisher
	Match         func(*Request) bool
}

// Options configure a Controller.
type Options struct {
	// Seats are the requests executing at once, all levels together,
	// shared out by the levels' Shares; 0 is no limit (nothing queues).
	Seats int
	// QueueWait is the longest a request waits for a seat before it is
	// rejected ("time-out"); 0 means DefaultQueueWait.
	QueueWait time.Duration
	// MaxWatchesPerUser bounds one user's open watches (past it, a new
	// watch is rejected); 0 is no limit. Exempt levels are not bounded.
	MaxWatchesPerUser int
	Levels            []LevelConfig
	// Schemas in precedence order; the last should match every request.
	Schemas []Schema
	// Metrics receives the apiserver_flowcontrol_* series; nil records none.
	Metrics *Metrics
}

// DefaultQueueWait is how long a request may wait for a seat unless told
// otherwise: kube-apiserver's request wait limit, a quarter of its
// default request timeout.
const DefaultQueueWait = 15 * time.Second

// Validate reports unusable options.
func (o *Options) Validate() error {
	var errs []error
	if o.Seats < 0 {
		errs = append(errs, fmt.Errorf("flowcontrol: %d seats is negative", o.Seats))
	}
	if o.QueueWait < 0 {
		errs = append(errs, fmt.Errorf("flowcontrol: queue wait %s is negative", o.QueueWait))
	}
	if o.MaxWatchesPerUser < 0 {
		errs = append(errs, fmt.Errorf("flowcontrol: %d watches per user is negative", o.MaxWatchesPerUser))
	}
	levels := map[string]bool{}
	for _, l := range o.Levels {
		switch {
		case l.Name == "":
			errs = append(errs, errors.New("flowcontrol: a priority level has no name"))
		case levels[l.Name]:
			errs = append(errs, fmt.Errorf("flowcontrol: priority level %q is defined twice", l.Name))
		case !l.Exempt && l.Shares <= 0:
			errs = append(errs, fmt.Errorf("flowcontrol: priority level %q needs positive shares", l.Name))
		case l.QueueLengthLimit < 0 || l.MaxWaiting < 0:
			errs = append(errs, fmt.Errorf("flowcontrol: priority level %q has a negative queue limit", l.Name))
		}
		levels[l.Name] = true
	}
	if len(o.Schemas) == 0 {
		errs = append(errs, errors.New("flowcontrol: no flow schema"))
	}
	schemas := map[string]bool{}
	for _, s := range o.Schemas {
		switch {
		case s.Name == "":
			errs = append(errs, errors.New("flowcontrol: a flow schema has no name"))
		case schemas[s.Name]:
			errs = append(errs, fmt.Errorf("flowcontrol: flow schema %q is defined twice", s.Name))
		case !levels[s.Level]:
			errs = append(errs, fmt.Errorf("flowcontrol: flow schema %q names no priority level (%q)", s.Name, s.Level))
		case s.Match == nil:
			errs = append(errs, fmt.Errorf("flowcontrol: flow schema %q matches nothing", s.Name))
		}
		schemas[s.Name] = true
	}
	return errors.Join(errs...)
}

// The priority levels and flow schemas of DefaultConfig, named as
// kube-apiserver's.
const (
	LevelExempt         = "exempt"
	LevelSystem         = "system"
	LevelLeaderElection = "leader-election"
	LevelWorkloadHigh   = "workload-high"
	LevelWorkloadLow    = "workload-low"
	LevelGlobalDefault  = "global-default"
	LevelCatchAll       = "catch-all"
	// LevelInsecure is the insecure port's one level (InsecureConfig).
	LevelInsecure = "insecure"
)

const (
	groupMasters         = "system:masters"
	groupNodes           = "system:nodes"
	groupServiceAccounts = "system:serviceaccounts"
	groupAuthenticated   = "system:authenticated"
	groupUnauthenticated = "system:unauthenticated"
	userControllerMgr    = "system:kube-controller-manager"
	userScheduler        = "system:kube-scheduler"
	kubeSystemSAPrefix   = "system:serviceaccount:kube-system:"
	porticoServicePrefix = "system:portico:"
)

// DefaultConfig is kube-apiserver's mandatory and suggested
// configuration, cut to what Portico serves: the levels with their
// shares and queues, and the schemas in precedence order.
//
//	schema                   level            flows by
//	exempt (system:masters)  exempt           -
//	probes (/healthz ...)    exempt           -
//	system-leader-election   leader-election  user
//	workload-leader-election leader-election  user
//	system-nodes, portico    system           user
//	kube-controller-manager,
//	kube-scheduler, kube-system
//	service accounts         workload-high    namespace
//	service-accounts         workload-low     user
//	global-default           global-default   user
//	catch-all                catch-all        user
func DefaultConfig() ([]LevelConfig, []Schema) {
	levels := []LevelConfig{
		{Name: LevelExempt, Exempt: true},
		{Name: LevelSystem, Shares: 30, QueueLengthLimit: 50},
		{Name: LevelLeaderElection, Shares: 10, QueueLengthLimit: 50},
		{Name: LevelWorkloadHigh, Shares: 40, QueueLengthLimit: 50},
		{Name: LevelWorkloadLow, Shares: 100, QueueLengthLimit: 50},
		{Name: LevelGlobalDefault, Shares: 20, QueueLengthLimit: 50},
		// kube's catch-all rejects rather than queues.
		{Name: LevelCatchAll, Shares: 5},
	}
	schemas := []Schema{
		{Name: "exempt", Level: LevelExempt, Match: inGroup(groupMasters)},
		{Name: "probes", Level: LevelExempt, Match: isProbe},
		{Name: "system-leader-election", Level: LevelLeaderElection, Distinguisher: ByUser, Match: func(r *Request) bool {
			return (r.User == userControllerMgr || r.User == userScheduler || strings.HasPrefix(r.User, kubeSystemSAPrefix)) && leaderElection(r)
		}},
		{Name: "workload-leader-election", Level: LevelLeaderElection, Distinguisher: ByUser, Match: func(r *Request) bool {
			return slices.Contains(r.Groups, groupServiceAccounts) && leaderElection(r)
		}},
		{Name: "system-nodes", Level: LevelSystem, Distinguisher: ByUser, Match: inGroup(groupNodes)},
		{Name: "portico-services", Level: LevelSystem, Distinguisher: ByUser, Match: func(r *Request) bool {
			return strings.HasPrefix(r.User, porticoServicePrefix)
		}},
		{Name: "kube-controller-manager", Level: LevelWorkloadHigh, Distinguisher: ByNamespace, Match: isUser(userControllerMgr)},
		{Name: "kube-scheduler", Level: LevelWorkloadHigh, Distinguisher: ByNamespace, Match: isUser(userScheduler)},
		{Name: "kube-system-service-accounts", Level: LevelWorkloadHigh, Distinguisher: ByNamespace, Match: func(r *Request) bool {
			return strings.HasPrefix(r.User, kubeSystemSAPrefix)
		}},
		{Name: "service-accounts", Level: LevelWorkloadLow, Distinguisher: ByUser, Match: inGroup(groupServiceAccounts)},
		{Name: "global-default", Level: LevelGlobalDefault, Distinguisher: ByUser, Match: func(r *Request) bool {
			return slices.Contains(r.Groups, groupAuthenticated) || slices.Contains(r.Groups, groupUnauthenticated)
		}},
		{Name: "catch-all", Level: LevelCatchAll, Distinguisher: ByUser, Match: func(*Request) bool { return true }},
	}
	return levels, schemas
}

// InsecureConfig is the insecure port's own budget: one level, one flow
// (every caller there is system:unsecured), its probes exempt. Seats
// given to it are not shared with the secure port, so callers of the
// secure port can never take them. Its schema names differ from
// DefaultConfig's, so that both controllers may share one Metrics.
func InsecureConfig() ([]LevelConfig, []Schema) {
	return []LevelConfig{
			{Name: LevelExempt, Exempt: true},
			{Name: LevelInsecure, Shares: 1, QueueLengthLimit: 50},
		}, []Schema{
			{Name: "insecure-probes", Level: LevelExempt, Match: isProbe},
			{Name: LevelInsecure, Level: LevelInsecure, Match: func(*Request) bool { return true }},
		}
}

func inGroup(g string) func(*Request) bool {
	return func(r *Request) bool { return slices.Contains(r.Groups, g) }
}

func isUser(u string) func(*Request) bool {
	return func(r *Request) bool { return r.User == u }
}

// isProbe matches the health paths, as kube's "probes" schema.
func isProbe(r *Request) bool {
	if r.ResourceRequest || r.Verb != "get" {
		return false
	}
	for _, p := range []string{"/healthz", "/readyz", "/livez"} {
		if r.Path == p || strings.HasPrefix(r.Path, p+"/") {
			return true
		}
	}
	return false
}

// leaderElection matches what leader election does in kube-system: get,
// create and update of leases, endpoints and config maps.
func leaderElection(r *Request) bool {
	if !r.ResourceRequest || r.Namespace != "kube-system" {
		return false
	}
	switch r.Verb {
	case "get", "create", "update":
	default:
		return false
	}
	switch {
	case r.APIGroup == "coordination.k8s.io" && r.Resource == "leases":
		return true
	case r.APIGroup == "" && (r.Resource == "endpoints" || r.Resource == "configmaps"):
		return true
	}
	return false
}

// uid is a stable name-based UUID (version 5 layout, SHA-1) for a schema
// or level: kube sends the objects' UIDs in the X-Kubernetes-PF-*
// headers, and Portico's configuration has no objects.
func uid(kind, name string) string {
	sum := sha1.Sum([]byte("portico.dev/flowcontrol/" + kind + "/" + name))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
