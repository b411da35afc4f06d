package gateway

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	k8scorev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
)

// The cells kube-apiserver's printers compute from more than one field,
// each after the printer function of
// k8s.io/kubernetes/pkg/printers/internalversion it is named beside.

// moreThan is how many items kube's printers list in a cell before
// "+ N more...".
const moreThan = 3

// listWithMore is kube's listWithMoreString: the first items, the count
// of the rest, "<unset>" for none.
func listWithMore(list []string, more bool, count, max int) string {
	ret := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", ret, count-max)
	}
	if ret == "" {
		return "<unset>"
	}
	return ret
}

func joinStrings(s []string, sep string) string { return strings.Join(s, sep) }

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

// printBool is kube's printBool.
func printBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// formatLabels is labels.FormatLabels: sorted key=value pairs, "<none>".
func formatLabels(m map[string]string) string { return k8slabels.FormatLabels(m) }

// mapValue is one entry of a map of strings.
func mapValue(m protoreflect.Message, key string, path ...string) (string, bool) {
	v, fd, ok := valueAt(m, path...)
	if !ok || !fd.IsMap() || fd.MapValue().Kind() != protoreflect.StringKind {
		return "", false
	}
	val := v.Map().Get(protoreflect.ValueOfString(key).MapKey())
	if !val.IsValid() {
		return "", false
	}
	return val.String(), true
}

func annotation(o protoreflect.Message, key string) string {
	s, _ := mapValue(o, key, "metadata", "annotations")
	return s
}

// conditionOf is the first of status.conditions with the type, or nil.
func conditionOf(o protoreflect.Message, typ string) protoreflect.Message {
	for _, c := range messages(listAt(o, "status", "conditions")) {
		if stringAt(c, "type") == typ {
			return c
		}
	}
	return nil
}

// conditionTrue is whether the first condition of the type is True.
func conditionTrue(o protoreflect.Message, typ string) bool {
	c := conditionOf(o, typ)
	return c != nil && stringAt(c, "status") == "True"
}

func humanSeconds(s int64) string { return duration.HumanDuration(time.Duration(s) * time.Second) }

// containerNames and containerImages are kube's layoutContainerCells of
// the containers at path.
func containerNames(path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any { return containerField(o, "name", path) }
}

func containerImages(path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any { return containerField(o, "image", path) }
}

func containerField(o protoreflect.Message, field string, path []string) string {
	cs := messages(listAt(o, path...))
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = stringAt(c, field)
	}
	return strings.Join(out, ",")
}

// readyOf is "ready/desired" of the workloads whose desired count is
// spec.replicas.
func readyOf(path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any {
		return fmt.Sprintf("%d/%d", intAt(o, path...), intAt(o, "spec", "replicas"))
	}
}

// deploymentSelector is the selector as labels.Selector prints it
// (printDeployment: "" for one that selects everything, not "<none>").
func deploymentSelector(o protoreflect.Message, _ time.Time) any {
	sel, err := metav1.LabelSelectorAsSelector(labelSelectorAt(o, "spec", "selector"))
	if err != nil {
		return "<invalid>"
	}
	return sel.String()
}

// --- core/v1

func podColumns() []column {
	return []column{
		nameColumn(),
		str("Ready", "The aggregate readiness state of this pod for accepting traffic.", func(o protoreflect.Message, now time.Time) any {
			s := summarizePod(o, now)
			return fmt.Sprintf("%d/%d", s.ready, s.total)
		}),
		str("Status", "The aggregate status of the containers in this pod.", func(o protoreflect.Message, now time.Time) any {
			return summarizePod(o, now).reason
		}),
		str("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", func(o protoreflect.Message, now time.Time) any {
			return summarizePod(o, now).restarts
		}),
		ageColumn(),
		wide(str("IP", k8scorev1.PodStatus{}.SwaggerDoc()["podIP"], func(o protoreflect.Message, _ time.Time) any {
			if ips := messages(listAt(o, "status", "podIPs")); len(ips) > 0 {
				return none(stringAt(ips[0], "ip"))
			}
			return "<none>"
		})),
		wide(str("Node", k8scorev1.PodSpec{}.SwaggerDoc()["nodeName"], orNone("spec", "nodeName"))),
		wide(str("Nominated Node", k8scorev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"], orNone("status", "nominatedNodeName"))),
		wide(str("Readiness Gates", k8scorev1.PodSpec{}.SwaggerDoc()["readinessGates"], func(o protoreflect.Message, _ time.Time) any {
			gates := messages(listAt(o, "spec", "readinessGates"))
			if len(gates) == 0 {
				return "<none>"
			}
			n := 0
			for _, g := range gates {
				if conditionTrue(o, stringAt(g, "conditionType")) {
					n++
				}
			}
			return fmt.Sprintf("%d/%d", n, len(gates))
		})),
	}
}

// podConditions: a pod that has finished is a completed row.
func podConditions(o protoreflect.Message) []metav1.TableRowCondition {
	switch stringAt(o, "status", "phase") {
	case "Succeeded":
		return []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: "Succeeded", Message: "The pod has completed successfully."}}
	case "Failed":
		return []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: "Failed", Message: "The pod failed."}}
	}
	return nil
}

// podSummary is what printPod makes of a pod's containers: READY,
// STATUS and RESTARTS.
type podSummary struct {
	ready, total int
	reason       string
	restarts     string
}

// summarizePod is printPod's reading of the pod's status: the init
// containers first (a restartable one, a sidecar, counts as a container),
// then the containers from the last, then deletion.
func summarizePod(o protoreflect.Message, now time.Time) podSummary {
	var s podSummary
	s.total = listLen(listAt(o, "spec", "containers"))
	phase := stringAt(o, "status", "phase")
	s.reason = cmp.Or(stringAt(o, "status", "reason"), phase)
	for _, c := range messages(listAt(o, "status", "conditions")) {
		if stringAt(c, "type") == "PodScheduled" && stringAt(c, "reason") == "SchedulingGated" {
			s.reason = "SchedulingGated"
		}
	}

	inits := messages(listAt(o, "spec", "initContainers"))
	sidecar := map[string]bool{}
	for _, c := range inits {
		if stringAt(c, "restartPolicy") == "Always" {
			sidecar[stringAt(c, "name")] = true
			s.total++
		}
	}
	lastTermination := func(cs protoreflect.Message) time.Time {
		t, _ := timeAt(cs, "lastState", "terminated", "finishedAt")
		return t
	}

	var restarts, sidecarRestarts int64
	var lastRestart, lastSidecarRestart time.Time
	initializing := false
	for i, cs := range messages(listAt(o, "status", "initContainerStatuses")) {
		restarts += intAt(cs, "restartCount")
		if t := lastTermination(cs); t.After(lastRestart) {
			lastRestart = t
		}
		isSidecar := sidecar[stringAt(cs, "name")]
		if isSidecar {
			sidecarRestarts += intAt(cs, "restartCount")
			if t := lastTermination(cs); t.After(lastSidecarRestart) {
				lastSidecarRestart = t
			}
		}
		terminated := messageAt(cs, "state", "terminated")
		waiting := stringAt(cs, "state", "waiting", "reason")
		switch {
		case terminated != nil && intAt(terminated, "exitCode") == 0:
			continue
		case isSidecar && boolAt(cs, false, "started"):
			if boolAt(cs, false, "ready") {
				s.ready++
			}
			continue
		case terminated != nil:
			switch r := stringAt(terminated, "reason"); {
			case r != "":
				s.reason = "Init:" + r
			case intAt(terminated, "signal") != 0:
				s.reason = fmt.Sprintf("Init:Signal:%d", intAt(terminated, "signal"))
			default:
				s.reason = fmt.Sprintf("Init:ExitCode:%d", intAt(terminated, "exitCode"))
			}
		case waiting != "" && waiting != "PodInitializing":
			s.reason = "Init:" + waiting
		default:
			s.reason = fmt.Sprintf("Init:%d/%d", i, len(inits))
		}
		initializing = true
		break
	}

	if !initializing || conditionTrue(o, "Initialized") {
		restarts, lastRestart = sidecarRestarts, lastSidecarRestart
		hasRunning := false
		errorReason := ""
		statuses := messages(listAt(o, "status", "containerStatuses"))
		for i := len(statuses) - 1; i >= 0; i-- {
			cs := statuses[i]
			restarts += intAt(cs, "restartCount")
			if t := lastTermination(cs); t.After(lastRestart) {
				lastRestart = t
			}
			terminated := messageAt(cs, "state", "terminated")
			switch waiting := stringAt(cs, "state", "waiting", "reason"); {
			case waiting != "":
				s.reason = waiting
			case terminated != nil:
				switch r := stringAt(terminated, "reason"); {
				case r != "":
					s.reason = r
				case intAt(terminated, "signal") != 0:
					s.reason = fmt.Sprintf("Signal:%d", intAt(terminated, "signal"))
				default:
					s.reason = fmt.Sprintf("ExitCode:%d", intAt(terminated, "exitCode"))
				}
				if intAt(terminated, "exitCode") != 0 {
					errorReason = s.reason
				}
			case boolAt(cs, false, "ready") && has(cs, "state", "running"):
				hasRunning = true
				s.ready++
			}
		}
		// A pod with a container still running is Running (its other
		// containers completed), or NotReady.
		if s.reason == "Completed" {
			switch {
			case hasRunning && podReady(o):
				s.reason = "Running"
			case errorReason != "":
				s.reason = errorReason
			case hasRunning:
				s.reason = "NotReady"
			}
		}
	}

	if has(o, "metadata", "deletionTimestamp") {
		if stringAt(o, "status", "reason") == "NodeLost" {
			s.reason = "Unknown"
		} else if phase != "Failed" && phase != "Succeeded" {
			s.reason = "Terminating"
		}
	}

	s.restarts = formatInt(restarts)
	if restarts != 0 && !lastRestart.IsZero() {
		s.restarts = fmt.Sprintf("%d (%s ago)", restarts, since(lastRestart, true, now))
	}
	return s
}

// podReady is whether any Ready condition is True.
func podReady(o protoreflect.Message) bool {
	for _, c := range messages(listAt(o, "status", "conditions")) {
		if stringAt(c, "type") == "Ready" && stringAt(c, "status") == "True" {
			return true
		}
	}
	return false
}

// volumePhase is a volume's or claim's phase, Terminating once deleted.
func volumePhase(o protoreflect.Message, _ time.Time) any {
	if has(o, "metadata", "deletionTimestamp") {
		return "Terminating"
	}
	return stringAt(o, "status", "phase")
}

// storageClassOf is the beta storage-class annotation when there is one
// (even empty), else the field.
func storageClassOf(field cellFunc) cellFunc {
	return func(o protoreflect.Message, now time.Time) any {
		if class, ok := mapValue(o, "volume.beta.kubernetes.io/storage-class", "metadata", "annotations"); ok {
			return class
		}
		return field(o, now)
	}
}

// accessModes is GetAccessModesAsString: each mode once, in kube's order,
// abbreviated.
func accessModes(path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any {
		modes := stringsAt(o, path...)
		var out []string
		for _, m := range []struct{ mode, short string }{
			{"ReadWriteOnce", "RWO"}, {"ReadOnlyMany", "ROX"}, {"ReadWriteMany", "RWX"}, {"ReadWriteOncePod", "RWOP"},
		} {
			if slices.Contains(modes, m.mode) {
				out = append(out, m.short)
			}
		}
		return strings.Join(out, ",")
	}
}

// quotaCell is printResourceQuota's REQUEST (limits false) or LIMIT
// column: "resource: used/hard" of each hard limit, sorted by name, the
// "limits.*" ones in LIMIT.
func quotaCell(limits bool) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any {
		v, fd, ok := valueAt(o, "status", "hard")
		if !ok || !fd.IsMap() {
			return ""
		}
		var names []string
		v.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			names = append(names, k.String())
			return true
		})
		sort.Strings(names)
		var parts []string
		for _, name := range names {
			pieces := strings.Split(name, ".")
			if isLimit := len(pieces) > 1 && pieces[0] == "limits"; isLimit != limits {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s: %s/%s", name, quantityIn(o, name, "status", "used"), quantityIn(o, name, "status", "hard")))
		}
		return strings.Join(parts, ", ")
	}
}

// endpointsCell is formatEndpoints: ip:port of each address and port, the
// first three, then how many more.
func endpointsCell(o protoreflect.Message, _ time.Time) any {
	subsets := messages(listAt(o, "subsets"))
	if len(subsets) == 0 {
		return "<none>"
	}
	var list []string
	more, count := false, 0
	add := func(s string) {
		if len(list) == moreThan {
			more = true
			return
		}
		list = append(list, s)
	}
	for _, ss := range subsets {
		addrs := messages(listAt(ss, "addresses"))
		ports := messages(listAt(ss, "ports"))
		if len(ports) == 0 {
			// A headless service may have no ports.
			count += len(addrs)
			for _, a := range addrs {
				add(stringAt(a, "ip"))
			}
			continue
		}
		for _, p := range ports {
			count += len(addrs)
			for _, a := range addrs {
				add(net.JoinHostPort(stringAt(a, "ip"), formatInt(intAt(p, "port"))))
			}
		}
	}
	ret := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", ret, count-moreThan)
	}
	return ret
}

func serviceColumns() []column {
	doc := k8scorev1.ServiceSpec{}.SwaggerDoc()
	return []column{
		nameColumn(),
		str("Type", doc["type"], text("spec", "type")),
		str("Cluster-IP", doc["clusterIP"], func(o protoreflect.Message, _ time.Time) any {
			if ips := stringsAt(o, "spec", "clusterIPs"); len(ips) > 0 {
				return ips[0]
			}
			return "<none>"
		}),
		str("External-IP", doc["externalIPs"], serviceExternalIP),
		str("Port(s)", doc["ports"], func(o protoreflect.Message, _ time.Time) any {
			ports := messages(listAt(o, "spec", "ports"))
			if len(ports) == 0 {
				return "<none>"
			}
			parts := make([]string, len(ports))
			for i, p := range ports {
				parts[i] = fmt.Sprintf("%d/%s", intAt(p, "port"), stringAt(p, "protocol"))
				if np := intAt(p, "nodePort"); np > 0 {
					parts[i] = fmt.Sprintf("%d:%d/%s", intAt(p, "port"), np, stringAt(p, "protocol"))
				}
			}
			return strings.Join(parts, ",")
		}),
		ageColumn(),
		wide(str("Selector", doc["selector"], labels("spec", "selector"))),
	}
}

// serviceExternalIP is getServiceExternalIP, wide (unclipped) as
// kube-apiserver prints it.
func serviceExternalIP(o protoreflect.Message, _ time.Time) any {
	external := stringsAt(o, "spec", "externalIPs")
	switch stringAt(o, "spec", "type") {
	case "ClusterIP", "NodePort":
		if len(external) > 0 {
			return strings.Join(external, ",")
		}
		return "<none>"
	case "LoadBalancer":
		lb := loadBalancerIngress(o, "status", "loadBalancer", "ingress")
		if len(external) > 0 {
			var all []string
			if lb != "" {
				all = strings.Split(lb, ",")
			}
			return strings.Join(append(all, external...), ",")
		}
		if lb != "" {
			return lb
		}
		return "<pending>"
	case "ExternalName":
		return stringAt(o, "spec", "externalName")
	}
	return "<unknown>"
}

// loadBalancerIngress is loadBalancerStatusStringer, wide: each ingress
// point's IP (else hostname) once, sorted.
func loadBalancerIngress(o protoreflect.Message, path ...string) string {
	seen := map[string]bool{}
	for _, in := range messages(listAt(o, path...)) {
		if s := cmp.Or(stringAt(in, "ip"), stringAt(in, "hostname")); s != "" {
			seen[s] = true
		}
	}
	return strings.Join(slices.Sorted(func(yield func(string) bool) {
		for s := range seen {
			if !yield(s) {
				return
			}
		}
	}), ",")
}

func nodeColumns() []column {
	info := k8scorev1.NodeSystemInfo{}.SwaggerDoc()
	addresses := k8scorev1.NodeStatus{}.SwaggerDoc()["addresses"]
	infoOf := func(field string) cellFunc {
		return func(o protoreflect.Message, _ time.Time) any {
			return unknown(stringAt(o, "status", "nodeInfo", field))
		}
	}
	return []column{
		nameColumn(),
		str("Status", "The status of the node", func(o protoreflect.Message, _ time.Time) any {
			status := "Unknown"
			for _, c := range messages(listAt(o, "status", "conditions")) {
				if stringAt(c, "type") == "Ready" {
					status = "NotReady"
					if stringAt(c, "status") == "True" {
						status = "Ready"
					}
				}
			}
			if boolAt(o, false, "spec", "unschedulable") {
				status += ",SchedulingDisabled"
			}
			return status
		}),
		str("Roles", "The roles of the node", func(o protoreflect.Message, _ time.Time) any {
			roles := map[string]bool{}
			for k, v := range stringMapAt(o, "metadata", "labels") {
				if r, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok && r != "" {
					roles[r] = true
				} else if k == "kubernetes.io/role" && v != "" {
					roles[v] = true
				}
			}
			if len(roles) == 0 {
				return "<none>"
			}
			names := make([]string, 0, len(roles))
			for r := range roles {
				names = append(names, r)
			}
			sort.Strings(names)
			return strings.Join(names, ",")
		}),
		ageColumn(),
		str("Version", info["kubeletVersion"], text("status", "nodeInfo", "kubeletVersion")),
		wide(str("Internal-IP", addresses, func(o protoreflect.Message, _ time.Time) any { return nodeAddress(o, "InternalIP") })),
		wide(str("External-IP", addresses, func(o protoreflect.Message, _ time.Time) any { return nodeAddress(o, "ExternalIP") })),
		wide(str("OS-Image", info["osImage"], infoOf("osImage"))),
		wide(str("Kernel-Version", info["kernelVersion"], func(o protoreflect.Message, _ time.Time) any {
			kernel := unknown(stringAt(o, "status", "nodeInfo", "kernelVersion"))
			if arch := stringAt(o, "status", "nodeInfo", "architecture"); arch != "" {
				kernel += " (" + arch + ")"
			}
			return kernel
		})),
		wide(str("Container-Runtime", info["containerRuntimeVersion"], infoOf("containerRuntimeVersion"))),
	}
}

// nodeAddress is the node's first address of a type, or <none>.
func nodeAddress(o protoreflect.Message, typ string) string {
	for _, a := range messages(listAt(o, "status", "addresses")) {
		if stringAt(a, "type") == typ {
			return stringAt(a, "address")
		}
	}
	return "<none>"
}

func unknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}

// eventColumns are kube-apiserver's event columns: the last and first
// seen times fall back to eventTime and then print <unknown>, a series
// gives the count and last time, the source is the component and host
// (or the reporting controller and instance).
func eventColumns() []column {
	doc := k8scorev1.Event{}.SwaggerDoc()
	seen := func(o protoreflect.Message, now time.Time, path ...string) (string, bool) {
		t, ok := timeAt(o, path...)
		return since(t, ok, now), ok && !t.IsZero()
	}
	first := func(o protoreflect.Message, now time.Time) string {
		if s, ok := seen(o, now, "firstTimestamp"); ok {
			return s
		}
		s, _ := seen(o, now, "eventTime")
		return s
	}
	return []column{
		str("Last Seen", doc["lastTimestamp"], func(o protoreflect.Message, now time.Time) any {
			if has(o, "series") {
				s, _ := seen(o, now, "series", "lastObservedTime")
				return s
			}
			if s, ok := seen(o, now, "lastTimestamp"); ok {
				return s
			}
			return first(o, now)
		}),
		str("Type", doc["type"], text("type")),
		str("Reason", doc["reason"], text("reason")),
		str("Object", doc["involvedObject"], func(o protoreflect.Message, _ time.Time) any {
			kind := strings.ToLower(stringAt(o, "involvedObject", "kind"))
			if name := stringAt(o, "involvedObject", "name"); name != "" {
				return kind + "/" + name
			}
			return kind
		}),
		wide(str("Subobject", k8scorev1.ObjectReference{}.SwaggerDoc()["fieldPath"], text("involvedObject", "fieldPath"))),
		wide(str("Source", doc["source"], func(o protoreflect.Message, _ time.Time) any {
			component := cmp.Or(stringAt(o, "source", "component"), stringAt(o, "reportingComponent"))
			if host := cmp.Or(stringAt(o, "source", "host"), stringAt(o, "reportingInstance")); host != "" {
				return component + ", " + host
			}
			return component
		})),
		str("Message", doc["message"], func(o protoreflect.Message, _ time.Time) any {
			return strings.TrimSpace(stringAt(o, "message"))
		}),
		wide(str("First Seen", doc["firstTimestamp"], func(o protoreflect.Message, now time.Time) any { return first(o, now) })),
		wide(str("Count", doc["count"], func(o protoreflect.Message, _ time.Time) any {
			if has(o, "series") {
				return intAt(o, "series", "count")
			}
			if n := intAt(o, "count"); n != 0 {
				return n
			}
			return int64(1) // singleton events of the new API have no count
		})),
		wide(nameColumn()),
	}
}

// --- rbac.authorization.k8s.io

// bindingColumns are the columns of (Cluster)RoleBindings: the role as
// Kind/name, and the subjects by kind (wide).
func bindingColumns(what, roleRefDoc string) []column {
	subjects := func(kind string) cellFunc {
		return func(o protoreflect.Message, _ time.Time) any {
			var out []string
			for _, s := range messages(listAt(o, "subjects")) {
				switch {
				case stringAt(s, "kind") != kind:
				case kind == "ServiceAccount":
					out = append(out, stringAt(s, "namespace")+"/"+stringAt(s, "name"))
				default:
					out = append(out, stringAt(s, "name"))
				}
			}
			return strings.Join(out, ", ")
		}
	}
	return []column{
		nameColumn(),
		str("Role", roleRefDoc, func(o protoreflect.Message, _ time.Time) any {
			return stringAt(o, "roleRef", "kind") + "/" + stringAt(o, "roleRef", "name")
		}),
		ageColumn(),
		wide(str("Users", "Users in the "+what, subjects("User"))),
		wide(str("Groups", "Groups in the "+what, subjects("Group"))),
		wide(str("ServiceAccounts", "ServiceAccounts in the "+what, subjects("ServiceAccount"))),
	}
}

// --- admissionregistration.k8s.io

func paramKind(o protoreflect.Message, _ time.Time) any {
	pk := messageAt(o, "spec", "paramKind")
	if pk == nil {
		return "<unset>"
	}
	return stringAt(pk, "apiVersion") + "/" + stringAt(pk, "kind")
}

// policyBindingColumns are a (Validating|Mutating)AdmissionPolicyBinding's:
// the param named namespace/name ("*/" when the namespace is not said), or
// by its selector.
func policyBindingColumns() []column {
	return []column{
		nameColumn(),
		str("PolicyName", "PolicyName indicates the policy definition which the policy binding binded to", text("spec", "policyName")),
		str("ParamRef", "ParamRef indicates the param resource which sets the configuration param", func(o protoreflect.Message, _ time.Time) any {
			pr := messageAt(o, "spec", "paramRef")
			switch {
			case pr == nil:
				return "<unset>"
			case stringAt(pr, "name") != "":
				return cmp.Or(stringAt(pr, "namespace"), "*") + "/" + stringAt(pr, "name")
			case has(pr, "selector"):
				return labelSelectorAt(pr, "selector").String()
			}
			return "<unset>"
		}),
		ageColumn(),
	}
}

// --- flowcontrol.apiserver.k8s.io

// flowSchemaOrder is printFlowSchemaList's order: by matching precedence,
// then name.
func flowSchemaOrder(objs []protoreflect.Message, rows []metav1.TableRow) {
	idx := make([]int, len(objs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		oa, ob := objs[idx[a]], objs[idx[b]]
		if pa, pb := intAt(oa, "spec", "matchingPrecedence"), intAt(ob, "spec", "matchingPrecedence"); pa != pb {
			return pa < pb
		}
		return stringAt(oa, "metadata", "name") < stringAt(ob, "metadata", "name")
	})
	sorted := make([]metav1.TableRow, len(rows))
	for i, j := range idx {
		sorted[i] = rows[j]
	}
	copy(rows, sorted)
}

// limited is a cell of a Limited priority level, "<none>" for another.
func limited(cell func(limited protoreflect.Message) any) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any {
		l := messageAt(o, "spec", "limited")
		if l == nil {
			return "<none>"
		}
		return cell(l)
	}
}

// queuing is a field of a Limited level's queuing, "<none>" without one.
func queuing(field string) cellFunc {
	return limited(func(l protoreflect.Message) any {
		q := messageAt(l, "limitResponse", "queuing")
		if q == nil {
			return "<none>"
		}
		return intAt(q, field)
	})
}

// --- storagemigration.k8s.io

// groupResource is schema.GroupResource's String: resource.group.
func groupResource(gr protoreflect.Message) string {
	if gr == nil {
		return ""
	}
	return schema.GroupResource{Group: stringAt(gr, "group"), Resource: stringAt(gr, "resource")}.String()
}

// migrationStatus is the last True one of the Running, Failed and
// Succeeded conditions, else Unknown.
func migrationStatus(o protoreflect.Message, _ time.Time) any {
	status := "Unknown"
	for _, c := range messages(listAt(o, "status", "conditions")) {
		if stringAt(c, "status") != "True" {
			continue
		}
		switch t := stringAt(c, "type"); t {
		case "Running", "Failed", "Succeeded":
			status = t
		}
	}
	return status
}

// --- apps

// controllerOf is the controlling owner as kind.group/name in lower case,
// or <none>.
func controllerOf(o protoreflect.Message, _ time.Time) any {
	for _, ref := range messages(listAt(o, "metadata", "ownerReferences")) {
		if !boolAt(ref, false, "controller") {
			continue
		}
		gv, err := schema.ParseGroupVersion(stringAt(ref, "apiVersion"))
		if err != nil {
			// kube's printer fails the request; validation keeps such
			// a reference out of storage.
			return "<invalid>"
		}
		gk := schema.GroupKind{Group: gv.Group, Kind: stringAt(ref, "kind")}
		if gk.Empty() {
			return stringAt(ref, "name")
		}
		return strings.ToLower(gk.String()) + "/" + stringAt(ref, "name")
	}
	return "<none>"
}

// --- autoscaling

// hpaTargets is formatHPAMetrics: "current/target" of the first two
// metrics, then how many more.
func hpaTargets(o protoreflect.Message, _ time.Time) any {
	specs := messages(listAt(o, "spec", "metrics"))
	if len(specs) == 0 {
		return "<none>"
	}
	statuses := messages(listAt(o, "status", "currentMetrics"))
	// current is the status of metric i's source, or nil.
	current := func(i int, source string) protoreflect.Message {
		if i < len(statuses) {
			return messageAt(statuses[i], source)
		}
		return nil
	}
	const max = 2
	var list []string
	for i, spec := range specs {
		switch typ := stringAt(spec, "type"); typ {
		case "External", "Object":
			source := strings.ToLower(typ)
			target, cur := messageAt(spec, source, "target"), current(i, source)
			if has(target, "averageValue") {
				now := "<unknown>"
				if has(cur, "current", "averageValue") {
					now = quantity(messageAt(cur, "current", "averageValue"))
				}
				list = append(list, fmt.Sprintf("%s/%s (avg)", now, quantity(messageAt(target, "averageValue"))))
			} else {
				now := "<unknown>"
				if cur != nil {
					now = quantity(messageAt(cur, "current", "value"))
				}
				list = append(list, fmt.Sprintf("%s/%s", now, quantity(messageAt(target, "value"))))
			}
		case "Pods":
			now := "<unknown>"
			if cur := current(i, "pods"); cur != nil {
				now = quantity(messageAt(cur, "current", "averageValue"))
			}
			list = append(list, fmt.Sprintf("%s/%s", now, quantity(messageAt(spec, "pods", "target", "averageValue"))))
		case "Resource", "ContainerResource":
			source := map[string]string{"Resource": "resource", "ContainerResource": "containerResource"}[typ]
			name := stringAt(spec, source, "name")
			target, cur := messageAt(spec, source, "target"), current(i, source)
			if has(target, "averageValue") {
				now := "<unknown>"
				if cur != nil {
					now = quantity(messageAt(cur, "current", "averageValue"))
				}
				list = append(list, fmt.Sprintf("%s: %s/%s", name, now, quantity(messageAt(target, "averageValue"))))
			} else {
				now, want := "<unknown>", "<auto>"
				if has(cur, "current", "averageUtilization") {
					now = fmt.Sprintf("%d%%", intAt(cur, "current", "averageUtilization"))
				}
				if has(target, "averageUtilization") {
					want = fmt.Sprintf("%d%%", intAt(target, "averageUtilization"))
				}
				list = append(list, fmt.Sprintf("%s: %s/%s", name, now, want))
			}
		default:
			list = append(list, "<unknown type>")
		}
	}
	if len(list) > max {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:max], ", "), len(list)-max)
	}
	return strings.Join(list, ", ")
}

// --- batch

// jobStatus is the first of Complete, Failed, Terminating, Suspended,
// FailureTarget and SuccessCriteriaMet that holds, else Running.
func jobStatus(o protoreflect.Message, _ time.Time) any {
	switch {
	case conditionTrue(o, "Complete"):
		return "Complete"
	case conditionTrue(o, "Failed"):
		return "Failed"
	case has(o, "metadata", "deletionTimestamp"):
		return "Terminating"
	case conditionTrue(o, "Suspended"):
		return "Suspended"
	case conditionTrue(o, "FailureTarget"):
		return "FailureTarget"
	case conditionTrue(o, "SuccessCriteriaMet"):
		return "SuccessCriteriaMet"
	}
	return "Running"
}

// jobCompletions is succeeded/completions, or of 1 (with the
// parallelism) for a job without a completion count.
func jobCompletions(o protoreflect.Message, _ time.Time) any {
	succeeded := intAt(o, "status", "succeeded")
	if has(o, "spec", "completions") {
		return fmt.Sprintf("%d/%d", succeeded, intAt(o, "spec", "completions"))
	}
	if p := intAt(o, "spec", "parallelism"); p > 1 {
		return fmt.Sprintf("%d/1 of %d", succeeded, p)
	}
	return fmt.Sprintf("%d/1", succeeded)
}

// jobDuration is from the start to the completion, or to now; "" before
// the job started.
func jobDuration(o protoreflect.Message, now time.Time) any {
	start, ok := timeAt(o, "status", "startTime")
	if !ok {
		return ""
	}
	if done, ok := timeAt(o, "status", "completionTime"); ok {
		return duration.HumanDuration(done.Sub(start))
	}
	return duration.HumanDuration(now.Sub(start))
}

// --- certificates.k8s.io

// csrCondition is extractCSRStatus: Denied, Approved or Pending, then
// Failed and Issued.
func csrCondition(o protoreflect.Message, _ time.Time) any {
	var approved, denied, failed bool
	for _, c := range messages(listAt(o, "status", "conditions")) {
		switch stringAt(c, "type") {
		case "Approved":
			approved = true
		case "Denied":
			denied = true
		case "Failed":
			failed = true
		}
	}
	status := "Pending"
	if denied {
		status = "Denied"
	} else if approved {
		status = "Approved"
	}
	if failed {
		status += ",Failed"
	}
	if has(o, "status", "certificate") {
		status += ",Issued"
	}
	return status
}

// podCertificateState is the last of the Issued, Denied and Failed
// conditions, else Pending.
func podCertificateState(o protoreflect.Message, _ time.Time) any {
	state := "Pending"
	for _, c := range messages(listAt(o, "status", "conditions")) {
		switch t := stringAt(c, "type"); t {
		case "Issued", "Denied", "Failed":
			state = t
		}
	}
	return state
}

// --- discovery.k8s.io

// slicePorts is formatDiscoveryPorts: each port's number, else its name,
// else "*".
func slicePorts(o protoreflect.Message, _ time.Time) any {
	var list []string
	more, count := false, 0
	for _, p := range messages(listAt(o, "ports")) {
		if len(list) < moreThan {
			num := "*"
			if has(p, "port") {
				num = formatInt(intAt(p, "port"))
			} else if has(p, "name") {
				num = stringAt(p, "name")
			}
			list = append(list, num)
		} else {
			more = true
		}
		count++
	}
	return listWithMore(list, more, count, moreThan)
}

// sliceEndpoints is formatDiscoveryEndpoints: every endpoint's
// addresses.
func sliceEndpoints(o protoreflect.Message, _ time.Time) any {
	var list []string
	more, count := false, 0
	for _, ep := range messages(listAt(o, "endpoints")) {
		for _, addr := range stringsAt(ep, "addresses") {
			if len(list) < moreThan {
				list = append(list, addr)
			} else {
				more = true
			}
			count++
		}
	}
	return listWithMore(list, more, count, moreThan)
}

// --- networking.k8s.io

// ingressHosts is formatHosts: the rules' hosts, "*" for none.
func ingressHosts(o protoreflect.Message, _ time.Time) any {
	rules := messages(listAt(o, "spec", "rules"))
	var list []string
	more := false
	for _, r := range rules {
		if len(list) == moreThan {
			more = true
		}
		if h := stringAt(r, "host"); !more && h != "" {
			list = append(list, h)
		}
	}
	if len(list) == 0 {
		return "*"
	}
	if more {
		return fmt.Sprintf("%s + %d more...", strings.Join(list, ","), len(rules)-moreThan)
	}
	return strings.Join(list, ",")
}

// ingressClassParameters is Kind[.apiGroup]/name, or <none>.
func ingressClassParameters(o protoreflect.Message, _ time.Time) any {
	p := messageAt(o, "spec", "parameters")
	if p == nil {
		return "<none>"
	}
	s := stringAt(p, "kind")
	if has(p, "apiGroup") {
		s += "." + stringAt(p, "apiGroup")
	}
	return s + "/" + stringAt(p, "name")
}

// ipAddressParent is resource.group[/namespace]/name in lower case, or
// <none>.
func ipAddressParent(o protoreflect.Message, _ time.Time) any {
	p := messageAt(o, "spec", "parentRef")
	if p == nil {
		return "<none>"
	}
	s := strings.ToLower(schema.GroupResource{Group: stringAt(p, "group"), Resource: stringAt(p, "resource")}.String())
	if ns := stringAt(p, "namespace"); ns != "" {
		s += "/" + ns
	}
	return s + "/" + stringAt(p, "name")
}

// --- resource.k8s.io

// resourceClaimState is deleted, pending or allocated(,reserved).
func resourceClaimState(o protoreflect.Message, _ time.Time) any {
	var states []string
	deleted := has(o, "metadata", "deletionTimestamp")
	if deleted {
		states = append(states, "deleted")
	}
	if !has(o, "status", "allocation") {
		if !deleted {
			states = append(states, "pending")
		}
	} else {
		states = append(states, "allocated")
		if has(o, "status", "reservedFor") {
			states = append(states, "reserved")
		}
	}
	return strings.Join(states, ",")
}

// --- storage.k8s.io

// markDefaultStorageClass is printStorageClassList's mark of the
// effective default class: of those annotated default, the newest, and
// of equally new ones the first by name.
func markDefaultStorageClass(objs []protoreflect.Message, rows []metav1.TableRow) {
	best := -1
	var bestTime time.Time
	for i, o := range objs {
		if annotation(o, "storageclass.kubernetes.io/is-default-class") != "true" &&
			annotation(o, "storageclass.beta.kubernetes.io/is-default-class") != "true" {
			continue
		}
		// metav1.Time has second precision, as kube compares them.
		created, _ := timeAt(o, "metadata", "creationTimestamp")
		created = created.Truncate(time.Second)
		switch {
		case best < 0, created.After(bestTime),
			created.Equal(bestTime) && stringAt(o, "metadata", "name") < stringAt(objs[best], "metadata", "name"):
			best, bestTime = i, created
		}
	}
	if best >= 0 {
		if name, ok := rows[best].Cells[0].(string); ok {
			rows[best].Cells[0] = name + " (default)"
		}
	}
}
