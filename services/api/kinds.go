package api

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	kresource "k8s.io/apimachinery/pkg/api/resource"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/resources"
	"github.com/portico-dev/portico/internal/typeschema"
	coordinationv1 "github.com/portico-dev/portico/proto/portico/coordination/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	rbacv1 "github.com/portico-dev/portico/proto/portico/rbac/v1"
	"github.com/portico-dev/portico/services/api/noderestriction"
	"github.com/portico-dev/portico/services/api/storage"
	"github.com/portico-dev/portico/services/api/storage/value"
)

// kindEnv is what every kind is built from.
type kindEnv struct {
	etcd     *clientv3.Client
	now      func() time.Time
	codec    Codec
	nsActive func(context.Context, string) error
	table    map[protoreflect.FullName]resources.Resource // by message
	// encryption gives each resource's value transformer; nil for none.
	encryption Transformers
	// bookmarkInterval is Options.WatchBookmarkInterval.
	bookmarkInterval time.Duration
	// watchCache, when set, puts a watch cache in front of every store;
	// each cache's Stop is added to stops.
	watchCache *storage.CacheOptions
	stops      *[]func()
	// schema types the objects for managedFields and apply.
	schema *typeschema.Schema
	log    *slog.Logger
}

// build makes the resource of the kind whose message is T, from its row
// of the generated resource table, with the common defaults; hooks are
// added by the caller.
func build[T storage.Object](env kindEnv) *resource[T] {
	var zero T
	name := zero.ProtoReflect().Descriptor().FullName()
	row, ok := env.table[name]
	if !ok {
		panic(fmt.Sprintf("api: %s is not in the resource table", name))
	}
	return buildRow[T](env, row)
}

// buildRow makes the resource of a row of the table, stored under its
// own etcd prefix.
func buildRow[T storage.Object](env kindEnv, row resources.Resource) *resource[T] {
	var tr value.Transformer
	if env.encryption != nil {
		tr = env.encryption.TransformerFor(row.Group, row.Resource)
	}
	store := withWatchCache(env, storage.NewStore(env.etcd, "/registry/"+registryPrefix(row)+"/", func() T { return row.New().(T) }, storage.WithTransformer(tr)))
	return buildOn(env, row, store, tr != nil)
}

// buildOn makes the resource of a row of the table kept in store
// (encrypted says whether it encrypts what it stores).
func buildOn[T storage.Object](env kindEnv, row resources.Resource, store storage.Interface[T], encrypted bool) *resource[T] {
	newObj := func() T {
		obj := row.New().(T)
		metaOf(obj)
		return obj
	}
	r := &resource[T]{
		kindMeta: kindMeta{
			group: row.Group, version: row.Version, plural: row.Resource, kind: row.Kind,
			pluralKind: pluralKind(row.Service, row.Kind), namespaced: row.Namespaced,
			service: protoreflect.FullName(row.Service),
		},
		store:            store,
		encrypted:        encrypted,
		newObj:           newObj,
		validateName:     validateSubdomainName,
		codec:            env.codec,
		strategicSchema:  row.K8s,
		log:              env.log,
		now:              env.now,
		suffix:           randomSuffix,
		bookmarkInterval: env.bookmarkInterval,
	}
	if _, ok := store.(sharedWatcher[T]); ok {
		r.encoded = newEncodedEvents()
	}
	if row.Namespaced {
		r.namespaceExists = env.nsActive
	}
	r.subresources = map[string]map[string]func(context.Context, proto.Message) (proto.Message, error){}
	for _, sub := range row.Subresources {
		switch sub {
		case "status":
			r.subresources["status"] = statusSubresource(r)
		case "scale":
			r.subresources["scale"] = scaleSubresource(r)
		}
	}
	fields, err := fieldManagers(env.schema, r)
	if err != nil {
		panic(fmt.Sprintf("api: kind %s: %v", row.Kind, err))
	}
	r.fields = fields
	return r
}

// registryPrefix is the etcd key prefix of a resource, as kube-apiserver
// lays them out: /registry/pods/, /registry/rbac.authorization.k8s.io/roles/.
func registryPrefix(row resources.Resource) string {
	if row.Group == "" {
		if row.Resource == "endpoints" {
			return "services/endpoints"
		}
		if row.Resource == "services" {
			return "services/specs"
		}
		return row.Resource
	}
	return row.Group + "/" + row.Resource
}

// pluralKind is the plural in RPC names (ListPods): the service's name is
// <Kind>Service and the list RPC List<PluralKind>.
func pluralKind(service, kind string) string {
	md, err := findService(service)
	if err != nil {
		return kind + "s"
	}
	methods := md.Methods()
	for i := range methods.Len() {
		if rest, ok := strings.CutPrefix(string(methods.Get(i).Name()), "List"); ok {
			return rest
		}
	}
	return kind + "s"
}

// kinds builds every served kind.
func (s *Service) kinds(env kindEnv) []kindHandler {
	s.namespaces = build[*corev1.Namespace](env)
	s.namespaces.validateName = validateLabelName
	s.namespaces.namespaceExists = nil
	s.namespaces.beforeCreate = func(ns *corev1.Namespace) {
		ns.Status = &corev1.NamespaceStatus{Phase: phaseActive}
		if ns.Spec == nil || len(ns.Spec.Finalizers) == 0 {
			ns.Spec = &corev1.NamespaceSpec{Finalizers: []string{"kubernetes"}}
		}
	}
	s.namespaces.extraFields = func(ns *corev1.Namespace) map[string]string {
		return map[string]string{"status.phase": ns.GetStatus().GetPhase()}
	}
	s.namespaces.onDelete = s.deleteNamespace
	s.namespaces.finalizing = namespaceFinalizing
	s.namespaces.subresources["finalize"] = map[string]func(context.Context, proto.Message) (proto.Message, error){
		"update": s.finalizeNamespace,
	}
	s.namespaces.beforeUpdate = func(ns, old *corev1.Namespace) {
		// spec.finalizers change through namespaces/finalize only.
		copyField(ns, old, "spec")
	}

	configMaps := build[*corev1.ConfigMap](env)
	configMaps.validate = validateConfigMap
	s.configMaps = configMaps

	secrets := build[*corev1.Secret](env)
	s.secrets = secrets
	secrets.beforeWrite = func(sec *corev1.Secret) {
		// stringData is write-only: merged into data, never stored.
		for k, v := range sec.StringData {
			if sec.Data == nil {
				sec.Data = map[string][]byte{}
			}
			sec.Data[k] = []byte(v)
		}
		sec.StringData = nil
		if sec.Type == "" {
			sec.Type = "Opaque"
		}
	}
	secrets.extraFields = func(sec *corev1.Secret) map[string]string { return map[string]string{"type": sec.GetType()} }

	pods := build[*corev1.Pod](env)
	pods.beforeCreate = createPod
	pods.validate = validatePod
	pods.beforeWrite = defaultPod
	pods.beforeUpdate = func(p, old *corev1.Pod) { nextGeneration(env.codec, p, old) }
	pods.extraFields = func(p *corev1.Pod) map[string]string {
		return map[string]string{
			"spec.nodeName":            p.GetSpec().GetNodeName(),
			"spec.restartPolicy":       p.GetSpec().GetRestartPolicy(),
			"spec.schedulerName":       p.GetSpec().GetSchedulerName(),
			"spec.serviceAccountName":  p.GetSpec().GetServiceAccountName(),
			"status.phase":             p.GetStatus().GetPhase(),
			"status.podIP":             p.GetStatus().GetPodIp(),
			"status.nominatedNodeName": p.GetStatus().GetNominatedNodeName(),
		}
	}
	pods.deleteReturnsObject = true
	pods.gracePeriod = podGracePeriod
	s.pods = pods
	pods.subresources["binding"] = map[string]func(context.Context, proto.Message) (proto.Message, error){
		"create": func(ctx context.Context, req proto.Message) (proto.Message, error) {
			return bindPod(ctx, pods, env.now, req)
		},
	}

	services := build[*corev1.Service](env)
	services.validateName = validateDNS1035Label
	services.beforeCreate = func(svc *corev1.Service) {
		defaultService(svc)
		// The status (a load balancer's address) is written through
		// services/status only, as kube's service strategy keeps it.
		svc.Status = nil
	}

	events := build[*corev1.Event](env)
	events.extraFields = coreEventFields
	eventsV1 := s.eventsV1(env, events)

	nodes := build[*corev1.Node](env)
	s.nodes = nodes
	leases := build[*coordinationv1.Lease](env)
	s.nodeRestrictionHooks(pods, nodes, leases)
	// Admission of a pod: node restriction, then priority (kube's order).
	nodeAdmit := pods.admit
	pods.admit = func(ctx context.Context, p, old *corev1.Pod) error {
		if err := nodeAdmit(ctx, p, old); err != nil {
			return err
		}
		return s.admitPodPriority(ctx, p, old)
	}
	endpoints := build[*corev1.Endpoints](env)
	serviceAccounts := build[*corev1.ServiceAccount](env)
	s.serviceAccounts = serviceAccounts
	s.serviceAccountHooks(serviceAccounts)

	roles := build[*rbacv1.Role](env)
	clusterRoles := build[*rbacv1.ClusterRole](env)
	roleBindings := build[*rbacv1.RoleBinding](env)
	clusterRoleBindings := build[*rbacv1.ClusterRoleBinding](env)
	for _, r := range []interface{ setNameRule(func(string) []string) }{roles, clusterRoles, roleBindings, clusterRoleBindings} {
		r.setNameRule(validatePathSegmentName)
	}
	s.rbacHooks(roles, clusterRoles, roleBindings, clusterRoleBindings)

	handlers := []kindHandler{
		s.namespaces, configMaps, secrets, pods, services, events, eventsV1, nodes, endpoints, serviceAccounts,
		roles, clusterRoles, roleBindings, clusterRoleBindings, leases,
	}
	// Every other kind is served as it is stored, with the engine's
	// generic semantics (status subresource, generation).
	configured := map[string]bool{}
	for _, h := range handlers {
		configured[h.meta().group+"/"+h.meta().kind] = true
	}
	for _, row := range resources.All() {
		if !configured[row.Group+"/"+row.Kind] {
			r := buildGeneric(env, row)
			if row.Group == "scheduling.k8s.io" && row.Kind == "PriorityClass" {
				s.priorityClasses = r
			}
			handlers = append(handlers, r)
		}
	}
	return handlers
}

func (r *resource[T]) setNameRule(f func(string) []string) { r.validateName = f }

// rewriteStale is storage.Store.RewriteStale for an encrypted resource;
// encrypted is false (and nothing done) for one stored as it is.
func (r *resource[T]) rewriteStale(ctx context.Context) (n int, encrypted bool, err error) {
	if !r.encrypted {
		return 0, false, nil
	}
	n, err = r.store.RewriteStale(ctx)
	return n, true, err
}

// createPod is what kube-apiserver does to a new pod besides defaulting:
// its status starts over (Pending, with its QoS class), its generation is
// 1, and the default admission plugins set the service account (not of a
// mirror pod), the priority (no PriorityClass: 0) and the not-ready and
// unreachable tolerations.
func createPod(p *corev1.Pod) {
	defaultPod(p)
	sp := p.Spec
	// A mirror pod (a kubelet's static pod) gets no service account: it
	// may not use one (kube's ServiceAccount admission).
	if _, mirror := p.GetMetadata().GetAnnotations()[noderestriction.MirrorPodAnnotation]; !mirror && sp.ServiceAccountName == "" {
		sp.ServiceAccountName = "default"
	}
	sp.ServiceAccount = sp.ServiceAccountName
	if sp.Priority == nil {
		zero := int32(0)
		sp.Priority = &zero
	}
	if sp.PreemptionPolicy == nil {
		pol := "PreemptLowerPriority"
		sp.PreemptionPolicy = &pol
	}
	defaultTolerations(sp)
	p.Status = &corev1.PodStatus{Phase: "Pending", QosClass: podQOS(sp)}
	p.Metadata.Generation = 1
}

// defaultPod sets the defaults kube-apiserver's decoding sets on a pod
// (SetDefaults_Pod and the spec's and containers' defaults), on create
// and update.
func defaultPod(p *corev1.Pod) {
	if p.Spec == nil {
		p.Spec = &corev1.PodSpec{}
	}
	sp := p.Spec
	defaultPodSpec(sp)
	// What follows is a pod's only, not a pod template's (kube's
	// SetDefaults_Pod).
	if sp.EnableServiceLinks == nil {
		links := true
		sp.EnableServiceLinks = &links
	}
	for _, c := range append(append([]*corev1.Container{}, sp.InitContainers...), sp.Containers...) {
		// A limit without a request requests the limit.
		if c.Resources != nil && len(c.Resources.Limits) > 0 {
			if c.Resources.Requests == nil {
				c.Resources.Requests = map[string]*corev1.Quantity{}
			}
			for name, q := range c.Resources.Limits {
				if _, ok := c.Resources.Requests[name]; !ok {
					c.Resources.Requests[name] = proto.Clone(q).(*corev1.Quantity)
				}
			}
		}
	}
}

// defaultPodSpec sets the defaults of a pod's and a pod template's spec
// and containers (kube's SetDefaults_PodSpec, SetDefaults_Container).
func defaultPodSpec(sp *corev1.PodSpec) {
	if sp.RestartPolicy == "" {
		sp.RestartPolicy = "Always"
	}
	if sp.DnsPolicy == "" {
		sp.DnsPolicy = "ClusterFirst"
	}
	if sp.SchedulerName == "" {
		sp.SchedulerName = "default-scheduler"
	}
	if sp.TerminationGracePeriodSeconds == nil {
		grace := int64(30)
		sp.TerminationGracePeriodSeconds = &grace
	}
	if sp.SecurityContext == nil {
		sp.SecurityContext = &corev1.PodSecurityContext{}
	}
	if sp.ServiceAccountName != "" && sp.ServiceAccount == "" {
		sp.ServiceAccount = sp.ServiceAccountName
	}
	for _, c := range append(append([]*corev1.Container{}, sp.InitContainers...), sp.Containers...) {
		if c.TerminationMessagePath == "" {
			c.TerminationMessagePath = "/dev/termination-log"
		}
		if c.TerminationMessagePolicy == "" {
			c.TerminationMessagePolicy = "File"
		}
		if c.ImagePullPolicy == "" {
			c.ImagePullPolicy = "IfNotPresent"
			if img := c.Image; !strings.Contains(img[strings.LastIndex(img, "/")+1:], ":") || strings.HasSuffix(img, ":latest") {
				c.ImagePullPolicy = "Always"
			}
		}
		for _, port := range c.Ports {
			if port.Protocol == "" {
				port.Protocol = "TCP"
			}
		}
	}
}

// podGracePeriod is a pod's graceful deletion (kube's pod
// CheckGracefulDelete): the period asked for, else the pod's
// terminationGracePeriodSeconds; none for a pod no kubelet runs (not
// bound to a node) or one that has finished (Succeeded, Failed), which
// are removed at once.
func podGracePeriod(p *corev1.Pod, requested *int64) int64 {
	switch phase := p.GetStatus().GetPhase(); {
	case p.GetSpec().GetNodeName() == "", phase == "Succeeded", phase == "Failed":
		return 0
	case requested != nil:
		return *requested
	}
	return p.GetSpec().GetTerminationGracePeriodSeconds()
}

// defaultTolerations is the DefaultTolerationSeconds admission plugin: a
// pod tolerates an unreachable or not-ready node for 300s unless it says
// otherwise.
func defaultTolerations(sp *corev1.PodSpec) {
	for _, key := range []string{"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"} {
		tolerated := slices.ContainsFunc(sp.Tolerations, func(t *corev1.Toleration) bool {
			return (t.GetKey() == key || t.GetKey() == "") && (t.GetEffect() == "NoExecute" || t.GetEffect() == "")
		})
		if !tolerated {
			seconds := int64(300)
			sp.Tolerations = append(sp.Tolerations, &corev1.Toleration{Key: key, Operator: "Exists", Effect: "NoExecute", TolerationSeconds: &seconds})
		}
	}
}

// podQOS is a pod's quality of service class, computed as the kubelet
// and kube-apiserver do from its containers' cpu and memory requests and
// limits.
func podQOS(sp *corev1.PodSpec) string {
	requests, limits := map[string]kresource.Quantity{}, map[string]kresource.Quantity{}
	guaranteed := true
	add := func(sum map[string]kresource.Quantity, list map[string]*corev1.Quantity) (found int) {
		for _, name := range []string{"cpu", "memory"} {
			q, ok := list[name]
			if !ok {
				continue
			}
			v, err := kresource.ParseQuantity(q.GetString_())
			if err != nil || v.Sign() <= 0 {
				continue
			}
			found++
			if s, ok := sum[name]; ok {
				v.Add(s)
			}
			sum[name] = v
		}
		return found
	}
	for _, c := range append(append([]*corev1.Container{}, sp.Containers...), sp.InitContainers...) {
		add(requests, c.GetResources().GetRequests())
		if add(limits, c.GetResources().GetLimits()) < 2 {
			guaranteed = false
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return "BestEffort"
	}
	for name, req := range requests {
		if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
			guaranteed = false
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return "Guaranteed"
	}
	return "Burstable"
}

// defaultService sets a service's type and its ports' protocol and target.
func defaultService(svc *corev1.Service) {
	if svc.Spec == nil {
		svc.Spec = &corev1.ServiceSpec{}
	}
	if svc.Spec.Type == "" {
		svc.Spec.Type = "ClusterIP"
	}
	if svc.Spec.SessionAffinity == "" {
		svc.Spec.SessionAffinity = "None"
	}
	for _, p := range svc.Spec.Ports {
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
		if p.TargetPort == nil {
			p.TargetPort = &corev1.IntOrString{IntVal: p.Port}
		}
	}
}

// bindPod is pods/binding (and the namespace's bindings collection, where
// the pod is the one the Binding names), as kube-apiserver's: the pod must
// not be bound yet nor deleted, the Binding's uid and resourceVersion are
// preconditions, its annotations are added to the pod's, and the pod gets
// spec.nodeName and the PodScheduled=True condition in one write.
func bindPod(ctx context.Context, pods *resource[*corev1.Pod], now func() time.Time, req proto.Message) (proto.Message, error) {
	ns, name := stringField(req, "namespace"), stringField(req, "name")
	b, _ := messageField(req, "binding").(*corev1.Binding)
	if bn := b.GetMetadata().GetName(); name == "" {
		name = bn
	} else if bn != "" && bn != name {
		return nil, apierrors.BadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", bn, name))
	}
	var causes []*corev1.StatusCause
	if name == "" {
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueRequired", Field: "metadata.name", Message: "Required value: name or generateName is required"})
	}
	if b.GetTarget().GetName() == "" {
		causes = append(causes, &corev1.StatusCause{Reason: "FieldValueRequired", Field: "target.name", Message: "Required value"})
	}
	if len(causes) > 0 {
		return nil, apierrors.Invalid("", "Binding", name, causes)
	}
	dry, err := dryRunAll(stringsField(req, "dry_run"))
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		pod, err := pods.get(ctx, ns, name)
		if err != nil {
			return nil, err
		}
		m := pod.GetMetadata()
		if uid := b.GetMetadata().GetUid(); uid != "" && uid != m.GetUid() {
			return nil, apierrors.Conflict("", "pods", name, fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", uid, m.GetUid()))
		}
		if rv := b.GetMetadata().GetResourceVersion(); rv != "" && rv != m.GetResourceVersion() {
			return nil, apierrors.Conflict("", "pods", name, "the object has been modified; please apply your changes to the latest version and try again")
		}
		if m.DeletionTimestamp != nil {
			return nil, apierrors.Conflict("", "pods", name, fmt.Sprintf("pod %s is being deleted, cannot be assigned to a host", name))
		}
		if pod.GetSpec().GetNodeName() != "" {
			return nil, apierrors.Conflict("", "pods", name, fmt.Sprintf("pod %s is already assigned to node %q", name, pod.GetSpec().GetNodeName()))
		}
		if pod.Spec == nil {
			pod.Spec = &corev1.PodSpec{}
		}
		pod.Spec.NodeName = b.GetTarget().GetName()
		for k, v := range b.GetMetadata().GetAnnotations() {
			if m.Annotations == nil {
				m.Annotations = map[string]string{}
			}
			m.Annotations[k] = v
		}
		setPodScheduled(pod, now())
		if dry {
			break
		}
		if _, err := pods.store.Update(ctx, ns, name, pod); err == nil {
			break
		} else if attempt >= maxUpdateRetries || apierrors.ReasonOf(pods.err(err, name)) != apierrors.ReasonConflict {
			return nil, pods.err(err, name)
		}
	}
	created(ctx)
	return &corev1.Status{Status: "Success", Code: 201}, nil
}

// setPodScheduled sets the pod's PodScheduled condition True, as kube's
// UpdatePodCondition: a new transition time only when the status changes.
func setPodScheduled(pod *corev1.Pod, now time.Time) {
	if pod.Status == nil {
		pod.Status = &corev1.PodStatus{}
	}
	for _, c := range pod.Status.Conditions {
		if c.GetType() == "PodScheduled" {
			if c.GetStatus() != "True" {
				c.Status = "True"
				c.LastTransitionTime = timestamppb.New(now.Truncate(time.Second))
			}
			c.Reason, c.Message = "", ""
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, &corev1.PodCondition{
		Type: "PodScheduled", Status: "True", LastTransitionTime: timestamppb.New(now.Truncate(time.Second)),
	})
}

// statusSubresource serves <resource>/status: get reads the object; update
// and patch change only its status, keeping everything else as stored.
func statusSubresource[T storage.Object](r *resource[T]) map[string]func(context.Context, proto.Message) (proto.Message, error) {
	status := protoreflect.Name("status")
	// write stores incoming's status on the stored object; its
	// managedFields are an apply's (o.applied) or an Update of the
	// status subresource by o.manager.
	write := func(ctx context.Context, ns, name string, incoming T, rv string, o writeOptions) (proto.Message, error) {
		for attempt := 0; ; attempt++ {
			cur, err := r.get(ctx, ns, name)
			if err != nil {
				return nil, err
			}
			if rv != "" && rv != metaOf(cur).GetResourceVersion() {
				return nil, r.err(storage.ErrConflict, name)
			}
			next := proto.Clone(cur).(T)
			fd := next.ProtoReflect().Descriptor().Fields().ByName(status)
			if fd == nil {
				return nil, apierrors.MethodNotAllowed()
			}
			if incoming.ProtoReflect().Has(fd) {
				next.ProtoReflect().Set(fd, incoming.ProtoReflect().Get(fd))
			} else {
				next.ProtoReflect().Clear(fd)
			}
			switch {
			case o.applied:
				metaOf(next).ManagedFields = metaOf(incoming).GetManagedFields()
			case o.manager != "":
				r.trackUpdate("status", cur, next, o)
			}
			if r.admitStatus != nil {
				if err := r.admitStatus(ctx, next, cur); err != nil {
					return nil, err
				}
			}
			if o.dryRun {
				return next, nil
			}
			if proto.Equal(next, cur) {
				// Nothing changed: nothing is written, as for the
				// object itself (commit) and in kube-apiserver, whose
				// GuaranteedUpdate keeps unchanged bytes.
				return cur, nil
			}
			out, err := r.store.Update(ctx, ns, name, next)
			if err != nil && rv == "" && attempt < maxUpdateRetries && apierrors.ReasonOf(r.err(err, name)) == apierrors.ReasonConflict {
				continue
			}
			return out, r.err(err, name)
		}
	}
	return map[string]func(context.Context, proto.Message) (proto.Message, error){
		"get": func(ctx context.Context, req proto.Message) (proto.Message, error) {
			return r.get(ctx, stringField(req, "namespace"), stringField(req, "name"))
		},
		"update": func(ctx context.Context, req proto.Message) (proto.Message, error) {
			obj, ok := r.body(req)
			if !ok {
				return nil, apierrors.BadRequest(fmt.Sprintf("the request has no %s", r.kind))
			}
			o, err := readWriteOptions(ctx, req, "UpdateOptions")
			if err != nil {
				return nil, err
			}
			name := stringField(req, "name")
			if metaOf(obj).GetName() != name {
				return nil, apierrors.BadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", metaOf(obj).GetName(), name))
			}
			return write(ctx, stringField(req, "namespace"), name, obj, metaOf(obj).GetResourceVersion(), o)
		},
		"patch": func(ctx context.Context, req proto.Message) (proto.Message, error) {
			pr, ok := req.(patchRequest)
			if !ok || r.codec == nil {
				return nil, apierrors.MethodNotAllowed()
			}
			o, err := readPatchOptions(ctx, pr)
			if err != nil {
				return nil, err
			}
			ns, name := stringField(req, "namespace"), stringField(req, "name")
			for attempt := 0; ; attempt++ {
				cur, err := r.get(ctx, ns, name)
				if err != nil {
					return nil, err
				}
				patched, pinned, err := r.applyPatch(ctx, "status", cur, pr, o)
				if err == nil {
					err = checkName(metaOf(patched).GetName(), name)
				}
				if err != nil {
					return nil, err
				}
				// Written on the version patched, unless the patch
				// names its own.
				rv := metaOf(cur).GetResourceVersion()
				if pinned {
					rv = metaOf(patched).GetResourceVersion()
				}
				out, err := write(ctx, ns, name, patched, rv, o.write())
				if err != nil && !pinned && attempt < maxUpdateRetries && apierrors.ReasonOf(err) == apierrors.ReasonConflict {
					continue
				}
				return out, err
			}
		},
	}
}

// deleteCollection deletes every object the selectors match.
func (r *resource[T]) deleteCollection(ctx context.Context, ns string, req proto.Message) (storage.ListResult[T], error) {
	opts, _ := messageField(req, "options").(*corev1.DeleteOptions)
	dry, err := dryRunAll(append(stringsField(req, "dry_run"), opts.GetDryRun()...))
	if err != nil {
		return storage.ListResult[T]{}, err
	}
	sel, err := r.selectors(stringField(req, "label_selector"), stringField(req, "field_selector"))
	if err != nil {
		return storage.ListResult[T]{}, err
	}
	if err := validateDeleteOptions(opts, ""); err != nil {
		return storage.ListResult[T]{}, err
	}
	res, err := r.store.List(ctx, ns, storage.ListOptions[T]{Filter: func(obj T) bool { return r.selected(sel, obj) }})
	if err != nil {
		return res, r.err(err, "")
	}
	// Each object is deleted as a delete of it would (finalizers keep
	// it, marked deleted); the answer lists them as the deletes left them.
	out := res.Items[:0]
	for _, obj := range res.Items {
		m := metaOf(obj)
		o, deleted, err := r.remove(ctx, m.GetNamespace(), m.GetName(), deleteOptions(req), dry)
		if err != nil {
			if apierrors.ReasonOf(err) == apierrors.ReasonNotFound {
				continue
			}
			return res, err
		}
		if deleted && r.deleteReturnsObject {
			o = r.markDeleted(o)
		}
		out = append(out, o)
	}
	res.Items = out
	return res, nil
}

// markDeleted is the object as a delete answers it: with its deletion
// timestamp and a zero grace period (deletion is immediate here).
func (r *resource[T]) markDeleted(obj T) T {
	m := metaOf(obj)
	if m.DeletionTimestamp == nil {
		m.DeletionTimestamp = timestamppb.New(r.now().Truncate(time.Second))
	}
	zero := int64(0)
	m.DeletionGracePeriodSeconds = &zero
	return obj
}
