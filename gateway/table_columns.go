package gateway

import (
	"cmp"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	k8scoordinationv1 "k8s.io/api/coordination/v1"
	k8scorev1 "k8s.io/api/core/v1"
	k8srbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// kindColumns are kube-apiserver's printed columns for each kind. A
// column showing a field is described, as kube-apiserver's printers do,
// by that field's documentation (the k8s.io/api types' SwaggerDoc).
func kindColumns() map[string][]column {
	return map[string][]column{
		"Namespace": {nameColumn(),
			col("Status", "The status of the namespace", 0, func(o protoreflect.Message, _ time.Time) any { return stringAt(o, "status", "phase") }),
			ageColumn()},
		"ConfigMap": {nameColumn(),
			col("Data", "Number of data items", 0, func(o protoreflect.Message, _ time.Time) any {
				return int64(mapLen(o, "data") + mapLen(o, "binaryData"))
			}),
			ageColumn()},
		"Lease": {nameColumn(),
			col("Holder", k8scoordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"], 0, func(o protoreflect.Message, _ time.Time) any {
				return stringAt(o, "spec", "holderIdentity")
			}),
			ageColumn()},
		"Secret": {nameColumn(),
			col("Type", "The type of the secret", 0, func(o protoreflect.Message, _ time.Time) any { return stringAt(o, "type") }),
			col("Data", "Number of data items", 0, func(o protoreflect.Message, _ time.Time) any {
				return int64(mapLen(o, "data") + mapLen(o, "stringData"))
			}),
			ageColumn()},
		"ServiceAccount": {nameColumn(),
			col("Secrets", k8scorev1.ServiceAccount{}.SwaggerDoc()["secrets"], 0,
				func(o protoreflect.Message, _ time.Time) any { return int64(listLen(listAt(o, "secrets"))) }),
			ageColumn()},
		"Pod":                podColumns(),
		"Service":            serviceColumns(),
		"Node":               nodeColumns(),
		"Endpoints":          {nameColumn(), col("Endpoints", "Endpoints of the Endpoints", 0, endpointsCell), ageColumn()},
		"Event":              eventColumns(),
		"RoleBinding":        bindingColumns("roleBinding"),
		"ClusterRoleBinding": bindingColumns("clusterRoleBinding"),
		// Role and ClusterRole have no printer in kube-apiserver: they
		// get its default table (defaultColumns).
	}
}

func listLen(l protoreflect.List) int {
	if l == nil {
		return 0
	}
	return l.Len()
}

func podColumns() []column {
	return []column{
		nameColumn(),
		col("Ready", "The aggregate readiness state of this pod for accepting traffic.", 0, func(o protoreflect.Message, _ time.Time) any {
			total := listLen(listAt(o, "spec", "containers"))
			ready := 0
			if st := listAt(o, "status", "containerStatuses"); st != nil {
				for i := range st.Len() {
					if v, _, ok := valueAt(st.Get(i).Message(), "ready"); ok && v.Bool() {
						ready++
					}
				}
			}
			return fmt.Sprintf("%d/%d", ready, total)
		}),
		col("Status", "The aggregate status of the containers in this pod.", 0, podStatus),
		col("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", 0, func(o protoreflect.Message, _ time.Time) any {
			n := int64(0)
			if st := listAt(o, "status", "containerStatuses"); st != nil {
				for i := range st.Len() {
					if v, _, ok := valueAt(st.Get(i).Message(), "restartCount"); ok {
						n += v.Int()
					}
				}
			}
			return strconv.FormatInt(n, 10)
		}),
		ageColumn(),
		col("IP", k8scorev1.PodStatus{}.SwaggerDoc()["podIP"], 1, func(o protoreflect.Message, _ time.Time) any {
			return none(stringAt(o, "status", "podIP"))
		}),
		col("Node", k8scorev1.PodSpec{}.SwaggerDoc()["nodeName"], 1, func(o protoreflect.Message, _ time.Time) any {
			return none(stringAt(o, "spec", "nodeName"))
		}),
		col("Nominated Node", k8scorev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"], 1, func(o protoreflect.Message, _ time.Time) any {
			return none(stringAt(o, "status", "nominatedNodeName"))
		}),
		col("Readiness Gates", k8scorev1.PodSpec{}.SwaggerDoc()["readinessGates"], 1, func(o protoreflect.Message, _ time.Time) any {
			if n := listLen(listAt(o, "spec", "readinessGates")); n > 0 {
				return fmt.Sprintf("0/%d", n)
			}
			return "<none>"
		}),
	}
}

// podStatus is kubectl's STATUS: Terminating, a container's waiting or
// terminated reason, the pod's reason, else its phase.
func podStatus(o protoreflect.Message, _ time.Time) any {
	if _, ok := timeAt(o, "metadata", "deletionTimestamp"); ok {
		return "Terminating"
	}
	status := stringAt(o, "status", "phase")
	if r := stringAt(o, "status", "reason"); r != "" {
		status = r
	}
	if st := listAt(o, "status", "containerStatuses"); st != nil {
		for i := range st.Len() {
			cs := st.Get(i).Message()
			if r := stringAt(cs, "state", "waiting", "reason"); r != "" {
				status = r
			} else if r := stringAt(cs, "state", "terminated", "reason"); r != "" {
				status = r
			}
		}
	}
	if status == "" {
		return "Pending"
	}
	return status
}

func serviceColumns() []column {
	return []column{
		nameColumn(),
		col("Type", "The type of the service", 0, func(o protoreflect.Message, _ time.Time) any {
			if t := stringAt(o, "spec", "type"); t != "" {
				return t
			}
			return "ClusterIP"
		}),
		col("Cluster-IP", "The cluster IP of the service", 0, func(o protoreflect.Message, _ time.Time) any { return none(stringAt(o, "spec", "clusterIP")) }),
		col("External-IP", "The external IPs of the service", 0, func(o protoreflect.Message, _ time.Time) any {
			ips := listAt(o, "spec", "externalIPs")
			if listLen(ips) == 0 {
				return "<none>"
			}
			parts := make([]string, ips.Len())
			for i := range parts {
				parts[i] = ips.Get(i).String()
			}
			return strings.Join(parts, ",")
		}),
		col("Port(s)", "The ports of the service", 0, func(o protoreflect.Message, _ time.Time) any {
			ports := listAt(o, "spec", "ports")
			if listLen(ports) == 0 {
				return "<none>"
			}
			parts := make([]string, ports.Len())
			for i := range parts {
				p := ports.Get(i).Message()
				v, _, _ := valueAt(p, "port")
				proto := stringAt(p, "protocol")
				if proto == "" {
					proto = "TCP"
				}
				s := strconv.FormatInt(v.Int(), 10)
				if np, _, ok := valueAt(p, "nodePort"); ok && np.Int() != 0 {
					s += ":" + strconv.FormatInt(np.Int(), 10)
				}
				parts[i] = s + "/" + proto
			}
			return strings.Join(parts, ",")
		}),
		ageColumn(),
		col("Selector", "The selector of the service", 1, func(o protoreflect.Message, _ time.Time) any { return selectorString(o, "spec", "selector") }),
	}
}

func selectorString(o protoreflect.Message, path ...string) string {
	v, fd, ok := valueAt(o, path...)
	if !ok || !fd.IsMap() || v.Map().Len() == 0 {
		return "<none>"
	}
	var parts []string
	v.Map().Range(func(k protoreflect.MapKey, val protoreflect.Value) bool {
		parts = append(parts, k.String()+"="+val.String())
		return true
	})
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func nodeColumns() []column {
	return []column{
		nameColumn(),
		col("Status", "The status of the node", 0, func(o protoreflect.Message, _ time.Time) any {
			status := "Unknown"
			if conds := listAt(o, "status", "conditions"); conds != nil {
				for i := range conds.Len() {
					c := conds.Get(i).Message()
					if stringAt(c, "type") == "Ready" {
						if stringAt(c, "status") == "True" {
							status = "Ready"
						} else {
							status = "NotReady"
						}
					}
				}
			}
			if v, _, ok := valueAt(o, "spec", "unschedulable"); ok && v.Bool() {
				status += ",SchedulingDisabled"
			}
			return status
		}),
		col("Roles", "The roles of the node", 0, func(o protoreflect.Message, _ time.Time) any {
			v, fd, ok := valueAt(o, "metadata", "labels")
			if !ok || !fd.IsMap() {
				return "<none>"
			}
			var roles []string
			v.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				if r, ok := strings.CutPrefix(k.String(), "node-role.kubernetes.io/"); ok && r != "" {
					roles = append(roles, r)
				}
				return true
			})
			if len(roles) == 0 {
				return "<none>"
			}
			sort.Strings(roles)
			return strings.Join(roles, ",")
		}),
		ageColumn(),
		col("Version", k8scorev1.NodeSystemInfo{}.SwaggerDoc()["kubeletVersion"], 0, func(o protoreflect.Message, _ time.Time) any {
			return stringAt(o, "status", "nodeInfo", "kubeletVersion")
		}),
		col("Internal-IP", k8scorev1.NodeStatus{}.SwaggerDoc()["addresses"], 1,
			func(o protoreflect.Message, _ time.Time) any { return nodeAddress(o, "InternalIP") }),
		col("External-IP", k8scorev1.NodeStatus{}.SwaggerDoc()["addresses"], 1,
			func(o protoreflect.Message, _ time.Time) any { return nodeAddress(o, "ExternalIP") }),
		col("OS-Image", k8scorev1.NodeSystemInfo{}.SwaggerDoc()["osImage"], 1,
			func(o protoreflect.Message, _ time.Time) any {
				return unknown(stringAt(o, "status", "nodeInfo", "osImage"))
			}),
		col("Kernel-Version", k8scorev1.NodeSystemInfo{}.SwaggerDoc()["kernelVersion"], 1,
			func(o protoreflect.Message, _ time.Time) any {
				return unknown(stringAt(o, "status", "nodeInfo", "kernelVersion"))
			}),
		col("Container-Runtime", k8scorev1.NodeSystemInfo{}.SwaggerDoc()["containerRuntimeVersion"], 1,
			func(o protoreflect.Message, _ time.Time) any {
				return unknown(stringAt(o, "status", "nodeInfo", "containerRuntimeVersion"))
			}),
	}
}

// nodeAddress is the node's first address of a type, or <none>.
func nodeAddress(o protoreflect.Message, typ string) string {
	addrs := listAt(o, "status", "addresses")
	for i := range listLen(addrs) {
		if a := addrs.Get(i).Message(); stringAt(a, "type") == typ {
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
	seen := func(o protoreflect.Message, now time.Time, path ...string) (string, bool) {
		if t, ok := timeAt(o, path...); ok {
			return duration.HumanDuration(now.Sub(t)), true
		}
		return "<unknown>", false
	}
	first := func(o protoreflect.Message, now time.Time) string {
		if s, ok := seen(o, now, "firstTimestamp"); ok {
			return s
		}
		s, _ := seen(o, now, "eventTime")
		return s
	}
	return []column{
		col("Last Seen", k8scorev1.Event{}.SwaggerDoc()["lastTimestamp"], 0, func(o protoreflect.Message, now time.Time) any {
			if _, _, ok := valueAt(o, "series"); ok {
				s, _ := seen(o, now, "series", "lastObservedTime")
				return s
			}
			if s, ok := seen(o, now, "lastTimestamp"); ok {
				return s
			}
			return first(o, now)
		}),
		col("Type", k8scorev1.Event{}.SwaggerDoc()["type"], 0, func(o protoreflect.Message, _ time.Time) any { return stringAt(o, "type") }),
		col("Reason", k8scorev1.Event{}.SwaggerDoc()["reason"], 0, func(o protoreflect.Message, _ time.Time) any { return stringAt(o, "reason") }),
		col("Object", k8scorev1.Event{}.SwaggerDoc()["involvedObject"], 0, func(o protoreflect.Message, _ time.Time) any {
			kind := strings.ToLower(stringAt(o, "involvedObject", "kind"))
			if name := stringAt(o, "involvedObject", "name"); name != "" {
				return kind + "/" + name
			}
			return kind
		}),
		col("Subobject", k8scorev1.ObjectReference{}.SwaggerDoc()["fieldPath"], 1,
			func(o protoreflect.Message, _ time.Time) any { return stringAt(o, "involvedObject", "fieldPath") }),
		col("Source", k8scorev1.Event{}.SwaggerDoc()["source"], 1, func(o protoreflect.Message, _ time.Time) any {
			component := cmp.Or(stringAt(o, "source", "component"), stringAt(o, "reportingComponent"))
			if host := cmp.Or(stringAt(o, "source", "host"), stringAt(o, "reportingInstance")); host != "" {
				return component + ", " + host
			}
			return component
		}),
		col("Message", k8scorev1.Event{}.SwaggerDoc()["message"], 0, func(o protoreflect.Message, _ time.Time) any {
			return strings.TrimSpace(stringAt(o, "message"))
		}),
		col("First Seen", k8scorev1.Event{}.SwaggerDoc()["firstTimestamp"], 1, func(o protoreflect.Message, now time.Time) any {
			return first(o, now)
		}),
		col("Count", k8scorev1.Event{}.SwaggerDoc()["count"], 1, func(o protoreflect.Message, _ time.Time) any {
			if v, _, ok := valueAt(o, "series", "count"); ok {
				return v.Int()
			}
			if v, _, ok := valueAt(o, "count"); ok && v.Int() != 0 {
				return v.Int()
			}
			return int64(1) // singleton events of the new API have no count
		}),
		{def: metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: descName, Priority: 1},
			cell: func(o protoreflect.Message, _ time.Time) any { return stringAt(o, "metadata", "name") }},
	}
}

// bindingColumns are the columns of (Cluster)RoleBindings: the role as
// Kind/name, and the subjects by kind (wide).
func bindingColumns(what string) []column {
	roleRefDoc := k8srbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]
	if what == "clusterRoleBinding" {
		roleRefDoc = k8srbacv1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"]
	}
	subjects := func(kind string) func(protoreflect.Message, time.Time) any {
		return func(o protoreflect.Message, _ time.Time) any {
			var out []string
			l := listAt(o, "subjects")
			for i := range listLen(l) {
				s := l.Get(i).Message()
				if stringAt(s, "kind") != kind {
					continue
				}
				if kind == "ServiceAccount" {
					out = append(out, stringAt(s, "namespace")+"/"+stringAt(s, "name"))
				} else {
					out = append(out, stringAt(s, "name"))
				}
			}
			return strings.Join(out, ", ")
		}
	}
	return []column{
		nameColumn(),
		col("Role", roleRefDoc, 0,
			func(o protoreflect.Message, _ time.Time) any {
				return stringAt(o, "roleRef", "kind") + "/" + stringAt(o, "roleRef", "name")
			}),
		ageColumn(),
		col("Users", "Users in the "+what, 1, subjects("User")),
		col("Groups", "Groups in the "+what, 1, subjects("Group")),
		col("ServiceAccounts", "ServiceAccounts in the "+what, 1, subjects("ServiceAccount")),
	}
}

func endpointsCell(o protoreflect.Message, _ time.Time) any {
	subsets := listAt(o, "subsets")
	var eps []string
	for i := range listLen(subsets) {
		s := subsets.Get(i).Message()
		addrs, ports := listAt(s, "addresses"), listAt(s, "ports")
		for a := range listLen(addrs) {
			ip := stringAt(addrs.Get(a).Message(), "ip")
			if listLen(ports) == 0 {
				eps = append(eps, ip)
				continue
			}
			for p := range ports.Len() {
				v, _, _ := valueAt(ports.Get(p).Message(), "port")
				eps = append(eps, ip+":"+strconv.FormatInt(v.Int(), 10))
			}
		}
	}
	if len(eps) == 0 {
		return "<none>"
	}
	if len(eps) > 3 {
		return strings.Join(eps[:3], ",") + fmt.Sprintf(" + %d more...", len(eps)-3)
	}
	return strings.Join(eps, ",")
}
