package e2e

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/portico-dev/portico/internal/resources"
	"github.com/portico-dev/portico/internal/testpeers"
)

// tableFixture is one object both servers are given, for its Table.
type tableFixture struct {
	kind, name string
	// body is the object's JSON without apiVersion, kind and
	// metadata.name (added here), with UID(Kind/name) standing for the
	// uid of an object created before it on the same server.
	body string
	// status is a merge patch written through the status subresource
	// after the create (kube-apiserver drops a created object's status).
	status string
	// ignore are the columns whose cells differ between two servers for
	// reasons of their own (when the object was made, a uid), each with
	// the reason.
	ignore map[string]string
}

// tablesNamespace holds the namespaced fixtures; tablesLabel is on every
// fixture, so that a list selects them and nothing either server makes
// by itself (bootstrap flow schemas, the kubernetes ServiceCIDR).
const (
	tablesNamespace = "tables"
	tablesLabel     = "tables-e2e"
)

// Age-like cells: when an object was made differs between the servers
// by the time between the two creates. Restarts keep their count, not
// the "(4d ago)" of the last one.
var (
	ageColumns = map[string]bool{"Age": true, "Created At": true}
	agoPart    = regexp.MustCompile(`\([0-9a-z]+ ago\)`)
)

// tableFixtures are a representative object of every kind Portico
// serves, with the fields its columns read. Some leave out what the
// server defaults (a PersistentVolume's reclaim policy, volumeMode and
// phase, a PriorityClass's preemptionPolicy, a CSIDriver's
// volumeLifecycleModes, an HPA's minReplicas, a priority level's
// nominalConcurrencyShares, a StorageClass's policies, a CSR's
// requestor), so that the cells show the defaults. Objects that act on others in
// kube-apiserver (admission policies and webhooks, a default priority
// class) match nothing the test creates; the LimitRange and the
// ResourceQuota, which kube-apiserver's admission enforces on later
// creates, come last.
func tableFixtures(pem tablePEMs) []tableFixture {
	const template = `"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"},{"name":"d","image":"redis"}]}}`
	const selector = `"selector":{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"NotIn","values":["db","cache"]}]}`
	const past = "2026-01-01T00:00:00Z"
	return []tableFixture{
		// core/v1
		{kind: "ServiceAccount", name: "default", body: `{}`},
		{kind: "ServiceAccount", name: "robot", body: `{}`},
		{kind: "ConfigMap", name: "settings", body: `{"data":{"a":"1","b":"2"},"binaryData":{"c":"AAE="}}`},
		{kind: "Endpoints", name: "web", body: `{"subsets":[{"addresses":[{"ip":"10.1.0.1"},{"ip":"10.1.0.2"}],"ports":[{"name":"http","port":80},{"name":"https","port":443}]},{"addresses":[{"ip":"10.1.0.9"}]}]}`},
		{kind: "Event", name: "web.1", body: `{"involvedObject":{"kind":"Pod","namespace":"tables","name":"web","fieldPath":"spec.containers{c}"},
"reason":"Pulled","message":" pulled the image ","type":"Normal","source":{"component":"kubelet","host":"node-1"},"count":3,
"firstTimestamp":"` + past + `","lastTimestamp":"2026-01-02T00:00:00Z"}`,
			ignore: map[string]string{"Last Seen": "an age", "First Seen": "an age"}},
		// events.k8s.io/v1: printed as the core event it is stored as.
		{kind: "events.k8s.io/Event", name: "sched.1", body: `{"eventTime":"2026-01-01T00:00:00.000000Z","reportingController":"default-scheduler",
"reportingInstance":"default-scheduler-n1","action":"Scheduling","reason":"FailedScheduling","regarding":{"kind":"Pod","namespace":"tables","name":"web"},
"note":"0/3 nodes are available","type":"Warning"}`,
			ignore: map[string]string{"Last Seen": "an age", "First Seen": "an age"}},
		{kind: "Namespace", name: tablesNamespace},
		{kind: "Node", name: "tables-node", body: `{"metadata":{"labels":{"node-role.kubernetes.io/worker":"","kubernetes.io/role":"infra"}},"spec":{"unschedulable":true}}`,
			status: `{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"ready"}],
"addresses":[{"type":"Hostname","address":"tables-node"},{"type":"InternalIP","address":"10.2.0.1"}],
"nodeInfo":{"kubeletVersion":"v1.37.2","osImage":"Debian GNU/Linux 13","kernelVersion":"6.12.0","containerRuntimeVersion":"containerd://2.1.0","architecture":"amd64","operatingSystem":"linux",
"machineID":"m","systemUUID":"s","bootID":"b","kubeProxyVersion":""}}}`},
		// A new volume is Pending, Retain and Filesystem by default.
		{kind: "PersistentVolume", name: "tables-pv", body: `{"spec":{"capacity":{"storage":"1024Mi"},"accessModes":["ReadOnlyMany","ReadWriteOnce"],
"storageClassName":"fast","hostPath":{"path":"/tmp/tables"},
"claimRef":{"namespace":"tables","name":"claim"}}}`},
		{kind: "PersistentVolumeClaim", name: "claim", body: `{"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}},
"storageClassName":"fast","volumeName":"tables-pv","volumeMode":"Block"}}`,
			status: `{"status":{"phase":"Bound","accessModes":["ReadWriteMany","ReadWriteOnce"],"capacity":{"storage":"2048Mi"}}}`},
		{kind: "Pod", name: "web", body: `{"spec":{"nodeName":"tables-node",
"initContainers":[{"name":"init","image":"busybox"},{"name":"side","image":"envoy","restartPolicy":"Always"}],
"containers":[{"name":"c","image":"nginx"},{"name":"d","image":"redis"}],
"readinessGates":[{"conditionType":"example.com/gate"},{"conditionType":"example.com/other"}]}}`,
			status: `{"status":{"phase":"Running","podIP":"10.3.0.5","podIPs":[{"ip":"10.3.0.5"}],
"conditions":[{"type":"Initialized","status":"True"},{"type":"Ready","status":"False"},{"type":"example.com/gate","status":"True"}],
"initContainerStatuses":[
 {"name":"init","image":"busybox","imageID":"","ready":false,"restartCount":1,"state":{"terminated":{"exitCode":0,"reason":"Completed"}}},
 {"name":"side","image":"envoy","imageID":"","ready":true,"started":true,"restartCount":2,"state":{"running":{"startedAt":"` + past + `"}},
  "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"` + past + `"}}}],
"containerStatuses":[
 {"name":"c","image":"nginx","imageID":"","ready":true,"restartCount":0,"state":{"running":{"startedAt":"` + past + `"}}},
 {"name":"d","image":"redis","imageID":"","ready":false,"restartCount":3,"state":{"waiting":{"reason":"CrashLoopBackOff"}},
  "lastState":{"terminated":{"exitCode":2,"reason":"Error","finishedAt":"2026-01-03T00:00:00Z"}}}]}}`},
		// A finished pod's row is Completed.
		{kind: "Pod", name: "done", body: `{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}`,
			status: `{"status":{"phase":"Succeeded","containerStatuses":[{"name":"c","image":"busybox","imageID":"","ready":false,"restartCount":0,
"state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}}`},
		{kind: "PodTemplate", name: "web", body: `{` + template + `}`},
		{kind: "ReplicationController", name: "web", body: `{"spec":{"replicas":3,"selector":{"app":"web"},` + template + `}}`,
			status: `{"status":{"replicas":2,"readyReplicas":1,"availableReplicas":1}}`},
		{kind: "Secret", name: "creds", body: `{"type":"Opaque","data":{"user":"YWRtaW4=","pass":"c2VjcmV0"}}`},
		// The cluster IP and node port are given: each server would
		// allocate its own.
		{kind: "Service", name: "web", body: `{"spec":{"type":"LoadBalancer","clusterIP":"10.0.0.10","clusterIPs":["10.0.0.10"],
"ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":8080,"nodePort":30080},{"name":"dns","port":53,"protocol":"UDP","targetPort":53,"nodePort":30053}],
"externalIPs":["192.0.2.10"],"selector":{"app":"web","tier":"fe"}}}`,
			status: `{"status":{"loadBalancer":{"ingress":[{"ip":"203.0.113.5"},{"hostname":"lb.example.com"}]}}}`},

		// rbac.authorization.k8s.io/v1
		{kind: "ClusterRole", name: "tables-reader", body: `{"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]}]}`},
		{kind: "ClusterRoleBinding", name: "tables-readers", body: `{"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"tables-reader"},
"subjects":[{"kind":"User","name":"alice"},{"kind":"Group","name":"devs"},{"kind":"ServiceAccount","namespace":"tables","name":"robot"},{"kind":"User","name":"bob"}]}`},
		{kind: "Role", name: "reader", body: `{"rules":[{"apiGroups":[""],"resources":["secrets"],"verbs":["get"]}]}`},
		{kind: "RoleBinding", name: "readers", body: `{"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"},
"subjects":[{"kind":"Group","name":"devs"},{"kind":"ServiceAccount","namespace":"tables","name":"robot"}]}`},

		// coordination.k8s.io/v1
		{kind: "Lease", name: "leader", body: `{"spec":{"holderIdentity":"holder-1","leaseDurationSeconds":15}}`},

		// admissionregistration.k8s.io/v1: they match widgets of
		// example.com, which nothing creates.
		{kind: "MutatingWebhookConfiguration", name: "tables-mutating", body: `{"webhooks":[` + webhook("a") + `,` + webhook("b") + `]}`},
		{kind: "ValidatingWebhookConfiguration", name: "tables-validating", body: `{"webhooks":[` + webhook("a") + `]}`},
		{kind: "ValidatingAdmissionPolicy", name: "tables-vap", body: `{"spec":{"failurePolicy":"Fail","paramKind":{"apiVersion":"v1","kind":"ConfigMap"},` + widgets + `,
"validations":[{"expression":"true"},{"expression":"1 == 1"}]}}`},
		{kind: "ValidatingAdmissionPolicyBinding", name: "tables-vapb", body: `{"spec":{"policyName":"tables-vap","validationActions":["Deny"],
"paramRef":{"selector":{"matchLabels":{"a":"b"}},"parameterNotFoundAction":"Allow"}}}`},
		{kind: "MutatingAdmissionPolicy", name: "tables-map", body: `{"spec":{"failurePolicy":"Fail","reinvocationPolicy":"Never",` + widgets + `,
"mutations":[{"patchType":"ApplyConfiguration","applyConfiguration":{"expression":"Object{}"}}]}}`},
		{kind: "MutatingAdmissionPolicyBinding", name: "tables-mapb", body: `{"spec":{"policyName":"tables-map",
"paramRef":{"name":"params","parameterNotFoundAction":"Allow"}}}`},

		// flowcontrol.apiserver.k8s.io/v1: kube-apiserver's config
		// controller writes each flow schema's Dangling condition (its
		// MissingPL cell), Portico does not: the status written here is
		// the one kube's controller writes.
		{kind: "PriorityLevelConfiguration", name: "tables-queued", body: `{"spec":{"type":"Limited","limited":{"nominalConcurrencyShares":10,"lendablePercent":0,
"limitResponse":{"type":"Queue","queuing":{"queues":16,"handSize":4,"queueLengthLimit":20}}}}}`},
		{kind: "PriorityLevelConfiguration", name: "tables-rejected", body: `{"spec":{"type":"Limited","limited":{"limitResponse":{"type":"Reject"}}}}`},
		{kind: "FlowSchema", name: "tables-b", body: `{"spec":{"priorityLevelConfiguration":{"name":"tables-queued"},"matchingPrecedence":5000,
"distinguisherMethod":{"type":"ByUser"},` + flowRules + `}}`,
			status: `{"status":{"conditions":[{"type":"Dangling","status":"False","reason":"Found","message":"This FlowSchema references the PriorityLevelConfiguration object named \"tables-queued\" and it exists","lastTransitionTime":"` + past + `"}]}}`},
		// Listed before tables-b: its precedence is lower.
		{kind: "FlowSchema", name: "tables-c", body: `{"spec":{"priorityLevelConfiguration":{"name":"tables-missing"},"matchingPrecedence":4000,` + flowRules + `}}`,
			status: `{"status":{"conditions":[{"type":"Dangling","status":"True","reason":"NotFound","message":"This FlowSchema references the PriorityLevelConfiguration object named \"tables-missing\" but there is no such object","lastTransitionTime":"` + past + `"}]}}`},

		// storagemigration.k8s.io/v1
		{kind: "StorageVersionMigration", name: "tables-migration", body: `{"spec":{"resource":{"group":"apps","resource":"deployments"}}}`,
			status: `{"status":{"conditions":[{"type":"Running","status":"True","reason":"Started","message":"migrating","lastTransitionTime":"` + past + `"}]}}`},

		// apps/v1
		{kind: "StatefulSet", name: "web", body: `{"spec":{"replicas":2,"serviceName":"web",` + selector + `,` + template + `}}`,
			status: `{"status":{"replicas":2,"readyReplicas":1,"currentReplicas":2,"updatedReplicas":2,"availableReplicas":1}}`},
		// Owned by the StatefulSet (by its uid on each server), so that
		// Portico's garbage collector keeps it.
		{kind: "ControllerRevision", name: "web-1", body: `{"revision":3,"data":{"spec":{}},"metadata":{"ownerReferences":[
{"apiVersion":"apps/v1","kind":"StatefulSet","name":"web","uid":"UID(StatefulSet/web)","controller":true}]}}`},
		{kind: "DaemonSet", name: "agent", body: `{"spec":{` + selector + `,"template":{"metadata":{"labels":{"app":"web"}},
"spec":{"nodeSelector":{"zone":"a","disk":"ssd"},"containers":[{"name":"agent","image":"fluentd"}]}}}}`,
			status: `{"status":{"desiredNumberScheduled":3,"currentNumberScheduled":2,"numberReady":1,"updatedNumberScheduled":2,"numberAvailable":1,"numberMisscheduled":0}}`},
		{kind: "Deployment", name: "web", body: `{"spec":{"replicas":3,` + selector + `,` + template + `}}`,
			status: `{"status":{"replicas":3,"updatedReplicas":2,"readyReplicas":2,"availableReplicas":1}}`},
		{kind: "ReplicaSet", name: "web-1", body: `{"spec":{"replicas":2,` + selector + `,` + template + `}}`,
			status: `{"status":{"replicas":2,"fullyLabeledReplicas":2,"readyReplicas":1,"availableReplicas":1}}`},

		// autoscaling/v2: three metrics, the first with its current value.
		{kind: "HorizontalPodAutoscaler", name: "web", body: `{"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"maxReplicas":10,
"metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":80}}},
 {"type":"Pods","pods":{"metric":{"name":"qps"},"target":{"type":"AverageValue","averageValue":"1000"}}},
 {"type":"External","external":{"metric":{"name":"queue"},"target":{"type":"Value","value":"30"}}}]}}`,
			status: `{"status":{"currentReplicas":3,"desiredReplicas":4,"currentMetrics":[{"type":"Resource","resource":{"name":"cpu","current":{"averageUtilization":50,"averageValue":"200m"}}}]}}`},

		// batch/v1
		{kind: "CronJob", name: "nightly", body: `{"spec":{"schedule":"*/5 * * * *","timeZone":"Etc/UTC","suspend":true,
"jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"OnFailure","containers":[{"name":"c","image":"busybox"}]}}}}}}`,
			status: `{"status":{"lastScheduleTime":"` + past + `","active":[{"apiVersion":"batch/v1","kind":"Job","namespace":"tables","name":"nightly-1"}]}}`,
			ignore: map[string]string{"Last Schedule": "an age"}},
		{kind: "Job", name: "batch", body: `{"spec":{"completions":3,"parallelism":2,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"busybox"}]}}}}`,
			status: `{"status":{"startTime":"` + past + `","active":1,"succeeded":1,"ready":1,"terminating":0}}`,
			ignore: map[string]string{"Duration": "an age (since the start)", "Selector": "the job's uid, in the selector each server makes"}},

		// certificates.k8s.io/v1: the same user creates it on both.
		{kind: "CertificateSigningRequest", name: "tables-csr", body: `{"spec":{"request":"` + pem.csr + `","signerName":"example.com/signer",
"usages":["digital signature","client auth"],"expirationSeconds":3600}}`,
			status: `{"status":{"conditions":[{"type":"Failed","status":"True","reason":"SignerFailed","message":"no key"}]}}`},
		{kind: "ClusterTrustBundle", name: "example.com:signer:tables", body: `{"spec":{"signerName":"example.com/signer","trustBundle":` + jsonQuote(pem.ca) + `}}`},
		{kind: "PodCertificateRequest", name: "web-cert", body: `{"spec":{"signerName":"example.com/signer","podName":"web","podUID":"11111111-2222-3333-4444-555555555555",
"serviceAccountName":"robot","serviceAccountUID":"sa-uid","nodeName":"tables-node","nodeUID":"node-uid","maxExpirationSeconds":86400,
"stubPKCS10Request":"` + pem.stub + `","unverifiedUserAnnotations":{"example.com/b":"2","example.com/a":"1"}}}`,
			status: `{"status":{"conditions":[{"type":"Denied","status":"True","reason":"Refused","message":"no","lastTransitionTime":"` + past + `"}]}}`},

		// discovery.k8s.io/v1: four addresses, a port by name only.
		{kind: "EndpointSlice", name: "web-abc", body: `{"addressType":"IPv4","endpoints":[{"addresses":["10.4.0.1"]},{"addresses":["10.4.0.2"]},{"addresses":["10.4.0.3"]},{"addresses":["10.4.0.4"]}],
"ports":[{"name":"http","port":80,"protocol":"TCP"},{"name":"metrics","protocol":"TCP"}]}`},

		// networking.k8s.io/v1
		{kind: "IngressClass", name: "tables-ic", body: `{"metadata":{"annotations":{"ingressclass.kubernetes.io/is-default-class":"true"}},
"spec":{"controller":"example.com/ingress","parameters":{"apiGroup":"k8s.example.com","kind":"IngressParameters","name":"params","scope":"Cluster"}}}`},
		{kind: "Ingress", name: "web", body: `{"spec":{"ingressClassName":"tables-ic","tls":[{"hosts":["a.example.com"],"secretName":"creds"}],
"defaultBackend":{"service":{"name":"web","port":{"number":80}}},
"rules":[{"host":"a.example.com"},{"host":"b.example.com"},{"host":""},{"host":"c.example.com"},{"host":"d.example.com"}]}}`,
			status: `{"status":{"loadBalancer":{"ingress":[{"ip":"198.51.100.7"},{"hostname":"in.example.com"}]}}}`},
		{kind: "IPAddress", name: "192.168.100.5", body: `{"spec":{"parentRef":{"group":"","resource":"services","namespace":"tables","name":"web"}}}`},
		{kind: "NetworkPolicy", name: "web", body: `{"spec":{"podSelector":{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"Exists"},{"key":"env","operator":"NotIn","values":["dev"]}]},"policyTypes":["Ingress"]}}`},
		{kind: "ServiceCIDR", name: "tables-cidr", body: `{"spec":{"cidrs":["10.96.0.0/24"]}}`},

		// node.k8s.io/v1
		{kind: "RuntimeClass", name: "tables-rc", body: `{"handler":"runc-tables"}`},

		// policy/v1
		{kind: "PodDisruptionBudget", name: "web", body: `{"spec":{"minAvailable":"50%",` + selector + `}}`,
			status: `{"status":{"disruptionsAllowed":1,"currentHealthy":2,"desiredHealthy":1,"expectedPods":3,"observedGeneration":1}}`},

		// resource.k8s.io/v1
		{kind: "DeviceClass", name: "tables-dc", body: `{"spec":{"selectors":[{"cel":{"expression":"device.driver == \"example.com\""}}]}}`},
		{kind: "DeviceTaintRule", name: "tables-taint", body: `{"spec":{"deviceSelector":{"driver":"example.com"},"taint":{"key":"example.com/broken","value":"yes","effect":"NoSchedule","timeAdded":"` + past + `"}}}`,
			ignore: map[string]string{"TimeAdded": "an age"}},
		{kind: "ResourceClaim", name: "gpu", body: `{"spec":{"devices":{"requests":[{"name":"r","exactly":{"deviceClassName":"tables-dc"}}]}}}`,
			status: `{"status":{"allocation":{"devices":{"results":[{"request":"r","driver":"example.com","pool":"pool-a","device":"d0"}]}},
"reservedFor":[{"resource":"pods","name":"web","uid":"00000000-0000-0000-0000-000000000001"}]}}`},
		{kind: "ResourceClaimTemplate", name: "gpu", body: `{"spec":{"spec":{"devices":{"requests":[{"name":"r","exactly":{"deviceClassName":"tables-dc"}}]}}}}`},
		{kind: "ResourceSlice", name: "tables-slice", body: `{"spec":{"driver":"example.com","nodeName":"tables-node","pool":{"name":"pool-a","generation":1,"resourceSliceCount":1},"devices":[{"name":"d0"}]}}`},

		// scheduling.k8s.io/v1
		{kind: "PriorityClass", name: "tables-high", body: `{"value":1000,"globalDefault":false,"description":"high"}`},

		// storage.k8s.io/v1
		{kind: "CSIDriver", name: "csi.example.com", body: `{"spec":{"tokenRequests":[{"audience":"a"},{"audience":"b"}]}}`},
		{kind: "CSINode", name: "tables-node", body: `{"spec":{"drivers":[{"name":"csi.example.com","nodeID":"n1"},{"name":"csi2.example.com","nodeID":"n1"}]}}`},
		{kind: "CSIStorageCapacity", name: "fast-a", body: `{"storageClassName":"fast","capacity":"1536Mi","nodeTopology":{"matchLabels":{"zone":"a"}}}`},
		// A list marks its default class.
		{kind: "StorageClass", name: "fast", body: `{"metadata":{"annotations":{"storageclass.kubernetes.io/is-default-class":"true"}},
"provisioner":"csi.example.com","reclaimPolicy":"Retain","volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":true}`},
		{kind: "StorageClass", name: "slow", body: `{"provisioner":"csi.example.com"}`},
		{kind: "VolumeAttachment", name: "tables-va", body: `{"spec":{"attacher":"csi.example.com","source":{"persistentVolumeName":"tables-pv"},"nodeName":"tables-node"}}`,
			status: `{"status":{"attached":true}}`},
		{kind: "VolumeAttributesClass", name: "gold", body: `{"driverName":"csi.example.com","parameters":{"iops":"100"}}`},

		// Last: kube-apiserver's admission enforces them on creates.
		{kind: "LimitRange", name: "limits", body: `{"spec":{"limits":[{"type":"Container","max":{"cpu":"4"}}]}}`},
		{kind: "ResourceQuota", name: "quota", body: `{"spec":{"hard":{"cpu":"2","limits.memory":"2Gi","pods":"10","requests.memory":"1024Mi"}}}`,
			status: `{"status":{"hard":{"cpu":"2","limits.memory":"2Gi","pods":"10","requests.memory":"1024Mi"},"used":{"cpu":"500m","pods":"3","limits.memory":"1Gi"}}}`},
	}
}

// The rules of admission policies and webhooks: widgets, which nobody
// creates.
const (
	widgets   = `"matchConstraints":{"resourceRules":[{"apiGroups":["example.com"],"apiVersions":["v1"],"operations":["CREATE"],"resources":["widgets"]}]}`
	flowRules = `"rules":[{"subjects":[{"kind":"User","user":{"name":"tables-nobody"}}],"resourceRules":[{"verbs":["get"],"apiGroups":["example.com"],"resources":["widgets"],"namespaces":["*"]}]}]`
)

func webhook(name string) string {
	return `{"name":"` + name + `.tables.example.com","clientConfig":{"url":"https://hooks.example.com/` + name + `"},
"rules":[{"operations":["CREATE"],"apiGroups":["example.com"],"apiVersions":["v1"],"resources":["widgets"]}],
"sideEffects":"None","admissionReviewVersions":["v1"],"timeoutSeconds":5}`
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// tablePEMs are the keys and certificates the certificate kinds carry,
// made once so that both servers get the same.
type tablePEMs struct {
	csr  string // a PEM certificate request, base64
	stub string // the same request in DER, base64
	ca   string // a PEM CA certificate
}

func makeTablePEMs(t *testing.T) tablePEMs {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "tables"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tables-ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tablePEMs{
		csr:  csr,
		stub: base64.StdEncoding.EncodeToString(der),
		ca:   string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
	}
}

// tableServer is one of the two servers, as the test's admin.
type tableServer struct {
	name string
	base string
	c    *http.Client
	uids map[string]string // Kind/name → uid
	// statusOf reports whether a kind's status is written through its
	// status subresource (else with the object).
	statusOf func(resources.Resource) bool
}

const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io"

func (s *tableServer) do(t *testing.T, method, path, contentType, accept, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", cmp.Or(accept, "application/json"))
	resp, err := s.c.Do(req)
	if err != nil {
		t.Fatalf("%s: %s %s: %v", s.name, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %s %s: %v", s.name, method, path, err)
	}
	return resp.StatusCode, string(b)
}

// collection is the path of a kind's collection (in the tables
// namespace when it is namespaced).
func collection(r resources.Resource) string {
	base := "/api/" + r.Version
	if r.Group != "" {
		base = "/apis/" + r.Group + "/" + r.Version
	}
	if r.Namespaced {
		base += "/namespaces/" + tablesNamespace
	}
	return base + "/" + r.Resource
}

// create makes the fixture on the server, then writes its status.
func (s *tableServer) create(t *testing.T, r resources.Resource, f tableFixture) {
	t.Helper()
	body := f.body
	for key, uid := range s.uids {
		body = strings.ReplaceAll(body, "UID("+key+")", uid)
	}
	obj := map[string]any{}
	if body != "" {
		if err := json.Unmarshal([]byte(body), &obj); err != nil {
			t.Fatalf("%s %s: fixture is not JSON: %v", f.kind, f.name, err)
		}
	}
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	labels, _ := meta["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
	}
	labels[tablesLabel] = "yes"
	meta["labels"], meta["name"] = labels, f.name
	obj["metadata"], obj["kind"] = meta, r.Kind
	obj["apiVersion"] = r.Version
	if r.Group != "" {
		obj["apiVersion"] = r.Group + "/" + r.Version
	}
	b, _ := json.Marshal(obj)
	code, out := s.do(t, "POST", collection(r), "application/json", "", string(b))
	if code == http.StatusConflict && f.kind == "ServiceAccount" && f.name == "default" {
		// Portico makes every namespace's default service account.
		code, out = s.do(t, "PATCH", collection(r)+"/"+f.name, "application/merge-patch+json", "", `{"metadata":{"labels":{"`+tablesLabel+`":"yes"}}}`)
	}
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("%s: create %s %s: %d %s", s.name, f.kind, f.name, code, out)
	}
	s.uids[f.kind+"/"+f.name] = jsonStr(decodeJSON(t, out), "metadata", "uid")
	if f.status == "" {
		return
	}
	path := collection(r) + "/" + f.name
	if s.statusOf(r) {
		path += "/status"
	}
	if code, out := s.do(t, "PATCH", path, "application/merge-patch+json", "", f.status); code != http.StatusOK {
		t.Fatalf("%s: status of %s %s: %d %s", s.name, f.kind, f.name, code, out)
	}
}

// table gets path as a Table.
func (s *tableServer) table(t *testing.T, path string) metav1.Table {
	t.Helper()
	code, out := s.do(t, "GET", path, "", tableAccept, "")
	if code != http.StatusOK {
		t.Fatalf("%s: GET %s as Table: %d %s", s.name, path, code, out)
	}
	var tb metav1.Table
	if err := json.Unmarshal([]byte(out), &tb); err != nil {
		t.Fatalf("%s: GET %s: not a Table: %v\n%s", s.name, path, err, out)
	}
	return tb
}

// bearerToken sends a token on every request.
type bearerToken struct {
	token string
	next  http.RoundTripper
}

func (b bearerToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// TestTablesMatchKubeAPIServer: the Table kubectl asks for (kubectl get)
// has, for every kind Portico serves, the columns a real kube-apiserver
// v1.37.2 prints (names, types, formats, priorities, descriptions) and
// the same cells for the same object, fetched alone and listed (a list
// orders flow schemas and marks the default storage class). The objects
// are made on both servers side by side, by the same user: the
// kube-apiserver's admin token is Portico's too.
func TestTablesMatchKubeAPIServer(t *testing.T) {
	etcd := testpeers.StartEtcd(t, testpeers.EtcdOptions{})
	kube := testpeers.StartKubeAPIServer(t, etcd)
	tokens := writeFile(t, filepath.Join(t.TempDir(), "tokens.csv"),
		fmt.Sprintf("%s,%s,%s,system:masters\n", kube.Token, testpeers.AdminUser, testpeers.AdminUser))
	p := startPortico(t, "--token-auth-file", tokens)
	pc := p.secureClient(t, "", "")
	pc.Transport = bearerToken{token: kube.Token, next: pc.Transport}

	subresource := func(r resources.Resource) bool { return slices.Contains(r.Subresources, "status") }
	servers := []*tableServer{
		// kube-apiserver serves every kind's status subresource.
		{name: "kube-apiserver", base: kube.URL, c: kube.Client(t), uids: map[string]string{}, statusOf: func(resources.Resource) bool { return true }},
		{name: "portico", base: p.secureURL(), c: pc, uids: map[string]string{}, statusOf: subresource},
	}

	// Fixtures name a kind by Kind, or by group/Kind where two groups
	// serve the Kind (events.k8s.io/Event beside core's Event).
	byKind := map[string]resources.Resource{}
	for _, r := range resources.All() {
		key := r.Kind
		if _, taken := byKind[key]; taken || (r.Group != "" && slices.ContainsFunc(resources.All(), func(o resources.Resource) bool { return o.Kind == r.Kind && o.Group == "" })) {
			key = r.Group + "/" + r.Kind
		}
		byKind[key] = r
	}
	fixtures := tableFixtures(makeTablePEMs(t))
	covered := map[string]bool{}
	for _, f := range fixtures {
		if _, ok := byKind[f.kind]; !ok {
			t.Fatalf("fixture of %s: Portico serves no such kind", f.kind)
		}
		covered[f.kind] = true
	}
	for kind := range byKind {
		if !covered[kind] {
			t.Errorf("%s: no fixture; every served kind needs one", kind)
		}
	}

	// The namespace first, then the fixtures in order.
	for _, s := range servers {
		s.create(t, byKind["Namespace"], tableFixture{kind: "Namespace", name: tablesNamespace})
		for _, f := range fixtures {
			if f.kind != "Namespace" {
				s.create(t, byKind[f.kind], f)
			}
		}
	}

	ignored := map[string]map[string]string{} // kind → column → why
	for _, f := range fixtures {
		for col, why := range f.ignore {
			if ignored[f.kind] == nil {
				ignored[f.kind] = map[string]string{}
			}
			ignored[f.kind][col] = why
		}
	}
	compare := func(what, kind string, tables []metav1.Table) {
		t.Helper()
		kubeTB, ours := tables[0], tables[1]
		if got, want := columnsOf(ours), columnsOf(kubeTB); got != want {
			t.Errorf("%s: columns\n portico        %s\n kube-apiserver %s", what, got, want)
			return
		}
		if len(ours.Rows) != len(kubeTB.Rows) {
			t.Errorf("%s: %d rows, kube-apiserver %d", what, len(ours.Rows), len(kubeTB.Rows))
			return
		}
		for i := range ours.Rows {
			got, want := ours.Rows[i], kubeTB.Rows[i]
			if len(got.Cells) != len(want.Cells) {
				t.Errorf("%s row %d: %d cells, kube-apiserver %d: %v / %v", what, i, len(got.Cells), len(want.Cells), got.Cells, want.Cells)
				continue
			}
			for j := range got.Cells {
				name := ""
				if j < len(kubeTB.ColumnDefinitions) {
					name = kubeTB.ColumnDefinitions[j].Name
				}
				if name == "" || ageColumns[name] || ignored[kind][name] != "" {
					continue // an age (an IPAddress's age has no column)
				}
				g, w := cellJSON(got.Cells[j]), cellJSON(want.Cells[j])
				if g != w {
					t.Errorf("%s row %d, %s: portico %s, kube-apiserver %s", what, i, name, g, w)
				}
			}
			if g, w := cellJSON(got.Conditions), cellJSON(want.Conditions); g != w {
				t.Errorf("%s row %d: conditions: portico %s, kube-apiserver %s", what, i, g, w)
			}
		}
	}

	listed := map[string]bool{}
	for _, f := range fixtures {
		r := byKind[f.kind]
		var one, list []metav1.Table
		for _, s := range servers {
			one = append(one, s.table(t, collection(r)+"/"+url.PathEscape(f.name)))
			if !listed[f.kind] {
				list = append(list, s.table(t, collection(r)+"?labelSelector="+tablesLabel+"%3Dyes"))
			}
		}
		compare(fmt.Sprintf("%s %s", f.kind, f.name), f.kind, one)
		if !listed[f.kind] {
			listed[f.kind] = true
			compare(fmt.Sprintf("%s list", f.kind), f.kind, list)
		}
	}
	t.Logf("%d objects of %d kinds printed as kube-apiserver prints them", len(fixtures), len(listed))
}

// columnsOf is a Table's column definitions, for comparing.
func columnsOf(tb metav1.Table) string {
	b, _ := json.Marshal(tb.ColumnDefinitions)
	return string(b)
}

// cellJSON is a cell as JSON, without the age of a last restart.
func cellJSON(v any) string {
	b, _ := json.Marshal(v)
	return agoPart.ReplaceAllString(string(b), "(ago)")
}
