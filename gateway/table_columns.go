package gateway

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// kindColumns are kube-apiserver's printed columns for each kind.
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
		"Secret": {nameColumn(),
			col("Type", "The type of the secret", 0, func(o protoreflect.Message, _ time.Time) any { return stringAt(o, "type") }),
			col("Data", "Number of data items", 0, func(o protoreflect.Message, _ time.Time) any {
				return int64(mapLen(o, "data") + mapLen(o, "stringData"))
			}),
			ageColumn()},
		"ServiceAccount": {nameColumn(),
			col("Secrets", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.", 0,
				func(o protoreflect.Message, _ time.Time) any { return int64(listLen(listAt(o, "secrets"))) }),
			ageColumn()},
		"Pod":       podColumns(),
		"Service":   serviceColumns(),
		"Node":      nodeColumns(),
		"Endpoints": {nameColumn(), col("Endpoints", "Endpoints of the Endpoints", 0, endpointsCell), ageColumn()},
		"Event": {
			col("Last Seen", "Time when the event was last seen", 0, func(o protoreflect.Message, now time.Time) any {
				if t, ok := timeAt(o, "lastTimestamp"); ok {
					return humanDuration(now.Sub(t))
				}
				return age(o, now)
			}),
			col("Type", "Type of this event", 0, func(o protoreflect.Message, _ time.Time) any { return stringAt(o, "type") }),
			col("Reason", "Why the action was taken", 0, func(o protoreflect.Message, _ time.Time) any { return stringAt(o, "reason") }),
			col("Object", "The object this event is about", 0, func(o protoreflect.Message, _ time.Time) any {
				return strings.ToLower(stringAt(o, "involvedObject", "kind")) + "/" + stringAt(o, "involvedObject", "name")
			}),
			col("Message", "A human-readable description of the status of this operation", 0, func(o protoreflect.Message, _ time.Time) any { return stringAt(o, "message") }),
		},
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
		col("IP", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1, func(o protoreflect.Message, _ time.Time) any {
			return none(stringAt(o, "status", "podIP"))
		}),
		col("Node", "NodeName indicates in which node this pod is scheduled.", 1, func(o protoreflect.Message, _ time.Time) any {
			return none(stringAt(o, "spec", "nodeName"))
		}),
		col("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node.", 1, func(o protoreflect.Message, _ time.Time) any {
			return none(stringAt(o, "status", "nominatedNodeName"))
		}),
		col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", 1, func(o protoreflect.Message, _ time.Time) any {
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
		col("Version", "Kubelet Version reported by the node.", 0, func(o protoreflect.Message, _ time.Time) any {
			return stringAt(o, "status", "nodeInfo", "kubeletVersion")
		}),
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
