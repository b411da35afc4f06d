package gateway

import (
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	k8sappsv1 "k8s.io/api/apps/v1"
	k8sautoscalingv2 "k8s.io/api/autoscaling/v2"
	k8sbatchv1 "k8s.io/api/batch/v1"
	k8scertificatesv1 "k8s.io/api/certificates/v1"
	k8scertificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	k8scoordinationv1 "k8s.io/api/coordination/v1"
	k8scorev1 "k8s.io/api/core/v1"
	k8sdiscoveryv1 "k8s.io/api/discovery/v1"
	k8sflowcontrolv1 "k8s.io/api/flowcontrol/v1"
	k8snetworkingv1 "k8s.io/api/networking/v1"
	k8srbacv1beta1 "k8s.io/api/rbac/v1beta1"
	k8sresourcev1 "k8s.io/api/resource/v1"
	k8sschedulingv1 "k8s.io/api/scheduling/v1"
	k8sstoragev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kindPrinters are kube-apiserver's printers
// (k8s.io/kubernetes/pkg/printers/internalversion), one entry a kind:
// the same columns in the same order, with the same names, types,
// formats, priorities and descriptions, and cells computed as kube's
// printers compute them. kube-apiserver always prints the wide columns
// (priority 1); kubectl hides them unless asked for -o wide. A kind
// without an entry (Role, ClusterRole, LimitRange, CSIStorageCapacity)
// is one kube-apiserver's storage gives its default table convertor,
// and gets that table here (defaultColumns): CSIStorageCapacity has a
// printer in kube's package that kube-apiserver does not use.
//
// Descriptions are taken from the same k8s.io/api documentation (and
// the same API versions) kube's printers take them from.
func kindPrinters() map[string]printer {
	return map[string]printer{
		// core/v1
		"ConfigMap": {columns: []column{nameColumn(),
			str("Data", k8scorev1.ConfigMap{}.SwaggerDoc()["data"], func(o protoreflect.Message, _ time.Time) any {
				return int64(mapLen(o, "data") + mapLen(o, "binaryData"))
			}),
			ageColumn()}},
		"Endpoints": {columns: []column{nameColumn(),
			str("Endpoints", k8scorev1.Endpoints{}.SwaggerDoc()["subsets"], endpointsCell),
			ageColumn()}},
		"Event":     {columns: eventColumns()},
		"Namespace": {columns: []column{nameColumn(), str("Status", "The status of the namespace", text("status", "phase")), ageColumn()}},
		"Node":      {columns: nodeColumns()},
		"PersistentVolume": {columns: []column{nameColumn(),
			str("Capacity", k8scorev1.PersistentVolumeSpec{}.SwaggerDoc()["capacity"], func(o protoreflect.Message, _ time.Time) any {
				return quantityIn(o, "storage", "spec", "capacity")
			}),
			str("Access Modes", k8scorev1.PersistentVolumeSpec{}.SwaggerDoc()["accessModes"], accessModes("spec", "accessModes")),
			str("Reclaim Policy", k8scorev1.PersistentVolumeSpec{}.SwaggerDoc()["persistentVolumeReclaimPolicy"], text("spec", "persistentVolumeReclaimPolicy")),
			str("Status", k8scorev1.PersistentVolumeStatus{}.SwaggerDoc()["phase"], volumePhase),
			str("Claim", k8scorev1.PersistentVolumeSpec{}.SwaggerDoc()["claimRef"], func(o protoreflect.Message, _ time.Time) any {
				if !has(o, "spec", "claimRef") {
					return ""
				}
				return stringAt(o, "spec", "claimRef", "namespace") + "/" + stringAt(o, "spec", "claimRef", "name")
			}),
			str("StorageClass", "StorageClass of the pv", storageClassOf(text("spec", "storageClassName"))),
			str("VolumeAttributesClass", "VolumeAttributesClass of the pv", optional("<unset>", "spec", "volumeAttributesClassName")),
			str("Reason", k8scorev1.PersistentVolumeStatus{}.SwaggerDoc()["reason"], text("status", "reason")),
			ageColumn(),
			wide(str("VolumeMode", k8scorev1.PersistentVolumeSpec{}.SwaggerDoc()["volumeMode"], optional("<unset>", "spec", "volumeMode")))}},
		"PersistentVolumeClaim": {columns: []column{nameColumn(),
			str("Status", k8scorev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["phase"], volumePhase),
			str("Volume", k8scorev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeName"], text("spec", "volumeName")),
			// Capacity and access modes are the bound volume's: none
			// before the claim is bound.
			str("Capacity", k8scorev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["capacity"], func(o protoreflect.Message, _ time.Time) any {
				if stringAt(o, "spec", "volumeName") == "" {
					return ""
				}
				return quantityIn(o, "storage", "status", "capacity")
			}),
			str("Access Modes", k8scorev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["accessModes"], func(o protoreflect.Message, now time.Time) any {
				if stringAt(o, "spec", "volumeName") == "" {
					return ""
				}
				return accessModes("status", "accessModes")(o, now)
			}),
			str("StorageClass", "StorageClass of the pvc", storageClassOf(text("spec", "storageClassName"))),
			str("VolumeAttributesClass", "VolumeAttributesClass of the pvc", optional("<unset>", "spec", "volumeAttributesClassName")),
			ageColumn(),
			wide(str("VolumeMode", k8scorev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeMode"], optional("<unset>", "spec", "volumeMode")))}},
		"Pod": {columns: podColumns(), conditions: podConditions},
		"PodTemplate": {columns: []column{nameColumn(),
			containersColumn("template"),
			imagesColumn("template"),
			str("Pod Labels", "The labels for the pod template.", labels("template", "metadata", "labels"))}},
		"ReplicationController": {columns: []column{nameColumn(),
			integer("Desired", k8scorev1.ReplicationControllerSpec{}.SwaggerDoc()["replicas"], number("spec", "replicas")),
			integer("Current", k8scorev1.ReplicationControllerStatus{}.SwaggerDoc()["replicas"], number("status", "replicas")),
			integer("Ready", k8scorev1.ReplicationControllerStatus{}.SwaggerDoc()["readyReplicas"], number("status", "readyReplicas")),
			ageColumn(),
			wide(containersColumn("spec", "template")),
			wide(imagesColumn("spec", "template")),
			wide(str("Selector", k8scorev1.ReplicationControllerSpec{}.SwaggerDoc()["selector"], labels("spec", "selector")))}},
		"ResourceQuota": {columns: []column{nameColumn(),
			str("Request", "Request represents a minimum amount of cpu/memory that a container may consume.", quotaCell(false)),
			str("Limit", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.", quotaCell(true)),
			ageColumn()}},
		"Secret": {columns: []column{nameColumn(),
			str("Type", k8scorev1.Secret{}.SwaggerDoc()["type"], text("type")),
			str("Data", k8scorev1.Secret{}.SwaggerDoc()["data"], func(o protoreflect.Message, _ time.Time) any { return int64(mapLen(o, "data")) }),
			ageColumn()}},
		"Service":        {columns: serviceColumns()},
		"ServiceAccount": {columns: []column{nameColumn(), ageColumn()}},

		// rbac.authorization.k8s.io/v1
		"RoleBinding":        {columns: bindingColumns("roleBinding", k8srbacv1beta1.RoleBinding{}.SwaggerDoc()["roleRef"])},
		"ClusterRoleBinding": {columns: bindingColumns("clusterRoleBinding", k8srbacv1beta1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"])},

		// coordination.k8s.io/v1
		"Lease": {columns: []column{nameColumn(),
			str("Holder", k8scoordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"], text("spec", "holderIdentity")),
			ageColumn()}},

		// admissionregistration.k8s.io/v1
		"MutatingWebhookConfiguration": {columns: []column{nameColumn(),
			integer("Webhooks", "Webhooks indicates the number of webhooks registered in this configuration", count("webhooks")),
			ageColumn()}},
		"ValidatingWebhookConfiguration": {columns: []column{nameColumn(),
			integer("Webhooks", "Webhooks indicates the number of webhooks registered in this configuration", count("webhooks")),
			ageColumn()}},
		"ValidatingAdmissionPolicy": {columns: []column{nameColumn(),
			integer("Validations", "Validations indicates the number of validation rules defined in this configuration", count("spec", "validations")),
			str("ParamKind", "ParamKind specifies the kind of resources used to parameterize this policy", paramKind),
			ageColumn()}},
		"ValidatingAdmissionPolicyBinding": {columns: policyBindingColumns()},
		"MutatingAdmissionPolicy": {columns: []column{nameColumn(),
			integer("Mutations", "Mutation indicates the number of mutations rules defined in this configuration", count("spec", "mutations")),
			str("ParamKind", "ParamKind specifies the kind of resources used to parameterize this policy", paramKind),
			ageColumn()}},
		"MutatingAdmissionPolicyBinding": {columns: policyBindingColumns()},

		// flowcontrol.apiserver.k8s.io/v1
		"FlowSchema": {columns: []column{nameColumn(),
			str("PriorityLevel", k8sflowcontrolv1.PriorityLevelConfigurationReference{}.SwaggerDoc()["name"], text("spec", "priorityLevelConfiguration", "name")),
			str("MatchingPrecedence", k8sflowcontrolv1.FlowSchemaSpec{}.SwaggerDoc()["matchingPrecedence"], number("spec", "matchingPrecedence")),
			str("DistinguisherMethod", k8sflowcontrolv1.FlowSchemaSpec{}.SwaggerDoc()["distinguisherMethod"], orNone("spec", "distinguisherMethod", "type")),
			ageColumn(),
			str("MissingPL", "references a broken or non-existent PriorityLevelConfiguration", func(o protoreflect.Message, _ time.Time) any {
				if c := conditionOf(o, "Dangling"); c != nil {
					return stringAt(c, "status")
				}
				return "?"
			})},
			list: flowSchemaOrder},
		"PriorityLevelConfiguration": {columns: []column{nameColumn(),
			str("Type", k8sflowcontrolv1.PriorityLevelConfigurationSpec{}.SwaggerDoc()["type"], text("spec", "type")),
			str("NominalConcurrencyShares", k8sflowcontrolv1.LimitedPriorityLevelConfiguration{}.SwaggerDoc()["nominalConcurrencyShares"], limited(func(l protoreflect.Message) any {
				return intAt(l, "nominalConcurrencyShares")
			})),
			str("Queues", k8sflowcontrolv1.QueuingConfiguration{}.SwaggerDoc()["queues"], queuing("queues")),
			str("HandSize", k8sflowcontrolv1.QueuingConfiguration{}.SwaggerDoc()["handSize"], queuing("handSize")),
			str("QueueLengthLimit", k8sflowcontrolv1.QueuingConfiguration{}.SwaggerDoc()["queueLengthLimit"], queuing("queueLengthLimit")),
			ageColumn()}},

		// storagemigration.k8s.io/v1: kube's columns have no age, and
		// its name column no "name" format.
		"StorageVersionMigration": {columns: []column{
			{def: metav1.TableColumnDefinition{Name: "Name", Type: "string", Description: descName}, cell: text("metadata", "name")},
			str("Resource", "GroupResource to migrate", func(o protoreflect.Message, _ time.Time) any { return groupResource(messageAt(o, "spec", "resource")) }),
			str("Status", "Status of the migration", migrationStatus)}},

		// apps/v1
		"ControllerRevision": {columns: []column{nameColumn(),
			str("Controller", "Controller of the object", controllerOf),
			str("Revision", k8sappsv1.ControllerRevision{}.SwaggerDoc()["revision"], number("revision")),
			ageColumn()}},
		"DaemonSet": {columns: []column{nameColumn(),
			integer("Desired", k8sappsv1.DaemonSetStatus{}.SwaggerDoc()["desiredNumberScheduled"], number("status", "desiredNumberScheduled")),
			integer("Current", k8sappsv1.DaemonSetStatus{}.SwaggerDoc()["currentNumberScheduled"], number("status", "currentNumberScheduled")),
			integer("Ready", k8sappsv1.DaemonSetStatus{}.SwaggerDoc()["numberReady"], number("status", "numberReady")),
			integer("Up-to-date", k8sappsv1.DaemonSetStatus{}.SwaggerDoc()["updatedNumberScheduled"], number("status", "updatedNumberScheduled")),
			integer("Available", k8sappsv1.DaemonSetStatus{}.SwaggerDoc()["numberAvailable"], number("status", "numberAvailable")),
			str("Node Selector", k8scorev1.PodSpec{}.SwaggerDoc()["nodeSelector"], labels("spec", "template", "spec", "nodeSelector")),
			ageColumn(),
			wide(containersColumn("spec", "template")),
			wide(imagesColumn("spec", "template")),
			wide(str("Selector", k8sappsv1.DaemonSetSpec{}.SwaggerDoc()["selector"], selector("spec", "selector")))}},
		"Deployment": {columns: []column{nameColumn(),
			str("Ready", "Number of the pod with ready state", readyOf("status", "readyReplicas")),
			str("Up-to-date", k8sappsv1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"], number("status", "updatedReplicas")),
			str("Available", k8sappsv1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"], number("status", "availableReplicas")),
			ageColumn(),
			wide(containersColumn("spec", "template")),
			wide(imagesColumn("spec", "template")),
			wide(str("Selector", k8sappsv1.DeploymentSpec{}.SwaggerDoc()["selector"], deploymentSelector))}},
		"ReplicaSet": {columns: []column{nameColumn(),
			integer("Desired", k8sappsv1.ReplicaSetSpec{}.SwaggerDoc()["replicas"], number("spec", "replicas")),
			integer("Current", k8sappsv1.ReplicaSetStatus{}.SwaggerDoc()["replicas"], number("status", "replicas")),
			integer("Ready", k8sappsv1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"], number("status", "readyReplicas")),
			ageColumn(),
			wide(containersColumn("spec", "template")),
			wide(imagesColumn("spec", "template")),
			wide(str("Selector", k8sappsv1.ReplicaSetSpec{}.SwaggerDoc()["selector"], selector("spec", "selector")))}},
		"StatefulSet": {columns: []column{nameColumn(),
			str("Ready", "Number of the pod with ready state", readyOf("status", "readyReplicas")),
			ageColumn(),
			wide(containersColumn("spec", "template")),
			wide(imagesColumn("spec", "template"))}},

		// autoscaling/v2
		"HorizontalPodAutoscaler": {columns: []column{nameColumn(),
			str("Reference", k8sautoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["scaleTargetRef"], func(o protoreflect.Message, _ time.Time) any {
				return stringAt(o, "spec", "scaleTargetRef", "kind") + "/" + stringAt(o, "spec", "scaleTargetRef", "name")
			}),
			str("Targets", k8sautoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["metrics"], hpaTargets),
			str("MinPods", k8sautoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["minReplicas"], func(o protoreflect.Message, _ time.Time) any {
				if v, _, ok := valueAt(o, "spec", "minReplicas"); ok {
					return formatInt(v.Int())
				}
				return "<unset>"
			}),
			str("MaxPods", k8sautoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["maxReplicas"], number("spec", "maxReplicas")),
			str("Replicas", k8sautoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"], number("status", "currentReplicas")),
			ageColumn()}},

		// batch/v1
		"CronJob": {columns: []column{nameColumn(),
			str("Schedule", k8sbatchv1.CronJobSpec{}.SwaggerDoc()["schedule"], text("spec", "schedule")),
			str("Timezone", k8sbatchv1.CronJobSpec{}.SwaggerDoc()["timeZone"], optional("<none>", "spec", "timeZone")),
			boolean("Suspend", k8sbatchv1.CronJobSpec{}.SwaggerDoc()["suspend"], func(o protoreflect.Message, _ time.Time) any {
				if !has(o, "spec", "suspend") {
					return "<unset>"
				}
				return printBool(boolAt(o, false, "spec", "suspend"))
			}),
			integer("Active", k8sbatchv1.CronJobStatus{}.SwaggerDoc()["active"], count("status", "active")),
			str("Last Schedule", k8sbatchv1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"], func(o protoreflect.Message, now time.Time) any {
				t, ok := timeAt(o, "status", "lastScheduleTime")
				if !ok {
					return "<none>"
				}
				return since(t, ok, now)
			}),
			ageColumn(),
			wide(containersColumn("spec", "jobTemplate", "spec", "template")),
			wide(imagesColumn("spec", "jobTemplate", "spec", "template")),
			wide(str("Selector", k8sbatchv1.JobSpec{}.SwaggerDoc()["selector"], selector("spec", "jobTemplate", "spec", "selector")))}},
		"Job": {columns: []column{nameColumn(),
			str("Status", "Status of the job.", jobStatus),
			str("Completions", k8sbatchv1.JobStatus{}.SwaggerDoc()["succeeded"], jobCompletions),
			str("Duration", "Time required to complete the job.", jobDuration),
			ageColumn(),
			wide(containersColumn("spec", "template")),
			wide(imagesColumn("spec", "template")),
			wide(str("Selector", k8sbatchv1.JobSpec{}.SwaggerDoc()["selector"], selector("spec", "selector")))}},

		// certificates.k8s.io/v1
		"CertificateSigningRequest": {columns: []column{nameColumn(),
			ageColumn(),
			str("SignerName", k8scertificatesv1beta1.CertificateSigningRequestSpec{}.SwaggerDoc()["signerName"], orNone("spec", "signerName")),
			str("Requestor", k8scertificatesv1beta1.CertificateSigningRequestSpec{}.SwaggerDoc()["request"], text("spec", "username")),
			str("RequestedDuration", k8scertificatesv1beta1.CertificateSigningRequestSpec{}.SwaggerDoc()["expirationSeconds"], func(o protoreflect.Message, _ time.Time) any {
				if !has(o, "spec", "expirationSeconds") {
					return "<none>"
				}
				return humanSeconds(intAt(o, "spec", "expirationSeconds"))
			}),
			str("Condition", k8scertificatesv1beta1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"], csrCondition)}},
		"ClusterTrustBundle": {columns: []column{nameColumn(),
			str("SignerName", k8scertificatesv1.ClusterTrustBundleSpec{}.SwaggerDoc()["signerName"], orNone("spec", "signerName"))}},
		"PodCertificateRequest": {columns: []column{nameColumn(),
			str("PodName", k8scertificatesv1.PodCertificateRequestSpec{}.SwaggerDoc()["podName"], text("spec", "podName")),
			str("ServiceAccountName", k8scertificatesv1.PodCertificateRequestSpec{}.SwaggerDoc()["serviceAccountName"], text("spec", "serviceAccountName")),
			str("NodeName", k8scertificatesv1.PodCertificateRequestSpec{}.SwaggerDoc()["nodeName"], text("spec", "nodeName")),
			str("SignerName", k8scertificatesv1.PodCertificateRequestSpec{}.SwaggerDoc()["signerName"], text("spec", "signerName")),
			str("State", "Is the request Pending, Issued, Denied, or Failed?", podCertificateState),
			// Priority 0 in kube's definitions, though its printer
			// writes the cell only for wide output, as kube-apiserver
			// always asks.
			str("UnverifiedUserAnnotations", k8scertificatesv1.PodCertificateRequestSpec{}.SwaggerDoc()["unverifiedUserAnnotations"], labels("spec", "unverifiedUserAnnotations"))}},

		// discovery.k8s.io/v1
		"EndpointSlice": {columns: []column{nameColumn(),
			str("AddressType", k8sdiscoveryv1.EndpointSlice{}.SwaggerDoc()["addressType"], text("addressType")),
			str("Ports", k8sdiscoveryv1.EndpointSlice{}.SwaggerDoc()["ports"], slicePorts),
			str("Endpoints", k8sdiscoveryv1.EndpointSlice{}.SwaggerDoc()["endpoints"], sliceEndpoints),
			ageColumn()}},

		// networking.k8s.io/v1
		"Ingress": {columns: []column{nameColumn(),
			str("Class", "The name of the IngressClass resource that should be used for additional configuration", optional("<none>", "spec", "ingressClassName")),
			str("Hosts", "Hosts that incoming requests are matched against before the ingress rule", ingressHosts),
			str("Address", "Address is a list containing ingress points for the load-balancer", func(o protoreflect.Message, _ time.Time) any {
				return loadBalancerIngress(o, "status", "loadBalancer", "ingress")
			}),
			str("Ports", "Ports of TLS configurations that open", func(o protoreflect.Message, _ time.Time) any {
				if has(o, "spec", "tls") {
					return "80, 443"
				}
				return "80"
			}),
			ageColumn()}},
		"IngressClass": {columns: []column{
			nameColumnWith(func(o protoreflect.Message, _ time.Time) any {
				name := stringAt(o, "metadata", "name")
				if annotation(o, "ingressclass.kubernetes.io/is-default-class") == "true" {
					name += " (default)"
				}
				return name
			}),
			str("Controller", "Controller that is responsible for handling this class", text("spec", "controller")),
			str("Parameters", "A reference to a resource with additional parameters", ingressClassParameters),
			ageColumn()}},
		// kube's printer writes an age cell after the two it defines
		// columns for.
		"IPAddress": {columns: []column{nameColumn(),
			str("ParentRef", k8snetworkingv1.IPAddressSpec{}.SwaggerDoc()["parentRef"], ipAddressParent),
			{cell: age, undeclared: true}}},
		"NetworkPolicy": {columns: []column{nameColumn(),
			str("Pod-Selector", k8snetworkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"], func(o protoreflect.Message, _ time.Time) any {
				// A podSelector that is not there is kube's empty
				// struct, which selects everything.
				ls := labelSelectorAt(o, "spec", "podSelector")
				if ls == nil {
					ls = &metav1.LabelSelector{}
				}
				return metav1.FormatLabelSelector(ls)
			}),
			ageColumn()}},
		"ServiceCIDR": {columns: []column{nameColumn(),
			str("CIDRs", k8snetworkingv1.ServiceCIDRSpec{}.SwaggerDoc()["cidrs"], joined(",", "spec", "cidrs")),
			ageColumn()}},

		// node.k8s.io/v1: kube describes the handler from ObjectMeta's
		// documentation, which has no such field: an empty description.
		"RuntimeClass": {columns: []column{nameColumn(), str("Handler", "", text("handler")), ageColumn()}},

		// policy/v1
		"PodDisruptionBudget": {columns: []column{nameColumn(),
			str("Min Available", "The minimum number of pods that must be available.", intOrString("spec", "minAvailable")),
			str("Max Unavailable", "The maximum number of pods that may be unavailable.", intOrString("spec", "maxUnavailable")),
			integer("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", number("status", "disruptionsAllowed")),
			ageColumn()}},

		// resource.k8s.io/v1
		"DeviceClass": {columns: []column{nameColumn(), ageColumn()}},
		"DeviceTaintRule": {columns: []column{nameColumn(),
			str("Key", k8sresourcev1.DeviceTaint{}.SwaggerDoc()["key"], text("spec", "taint", "key")),
			str("Value", k8sresourcev1.DeviceTaint{}.SwaggerDoc()["value"], text("spec", "taint", "value")),
			str("Effect", k8sresourcev1.DeviceTaint{}.SwaggerDoc()["effect"], text("spec", "taint", "effect")),
			str("TimeAdded", k8sresourcev1.DeviceTaint{}.SwaggerDoc()["timeAdded"], func(o protoreflect.Message, now time.Time) any {
				t, ok := timeAt(o, "spec", "taint", "timeAdded")
				if !ok {
					return ""
				}
				return since(t, ok, now)
			}),
			ageColumn()}},
		"ResourceClaim": {columns: []column{nameColumn(),
			str("State", "A summary of the current state (allocated, pending, reserved, etc.).", resourceClaimState),
			ageColumn()}},
		"ResourceClaimTemplate": {columns: []column{nameColumn(), ageColumn()}},
		"ResourceSlice": {columns: []column{nameColumn(),
			str("Node", k8sresourcev1.ResourceSliceSpec{}.SwaggerDoc()["nodeName"], text("spec", "nodeName")),
			str("Driver", k8sresourcev1.ResourceSliceSpec{}.SwaggerDoc()["driver"], text("spec", "driver")),
			str("Pool", k8sresourcev1.ResourcePool{}.SwaggerDoc()["name"], text("spec", "pool", "name")),
			ageColumn()}},

		// scheduling.k8s.io/v1: the preemption policy is a column of
		// priority 0 that kube's printer fills for wide output only.
		"PriorityClass": {columns: []column{nameColumn(),
			integer("Value", k8sschedulingv1.PriorityClass{}.SwaggerDoc()["value"], number("value")),
			boolean("Global-Default", k8sschedulingv1.PriorityClass{}.SwaggerDoc()["globalDefault"], flag(false, "globalDefault")),
			ageColumn(),
			str("PreemptionPolicy", k8sschedulingv1.PriorityClass{}.SwaggerDoc()["preemptionPolicy"], text("preemptionPolicy"))}},

		// storage.k8s.io/v1
		"CSIDriver": {columns: []column{nameColumn(),
			boolean("AttachRequired", k8sstoragev1.CSIDriverSpec{}.SwaggerDoc()["attachRequired"], flag(true, "spec", "attachRequired")),
			boolean("PodInfoOnMount", k8sstoragev1.CSIDriverSpec{}.SwaggerDoc()["podInfoOnMount"], flag(false, "spec", "podInfoOnMount")),
			boolean("StorageCapacity", k8sstoragev1.CSIDriverSpec{}.SwaggerDoc()["storageCapacity"], flag(false, "spec", "storageCapacity")),
			str("TokenRequests", k8sstoragev1.CSIDriverSpec{}.SwaggerDoc()["tokenRequests"], func(o protoreflect.Message, _ time.Time) any {
				reqs := messages(listAt(o, "spec", "tokenRequests"))
				if len(reqs) == 0 {
					return "<unset>"
				}
				audiences := make([]string, len(reqs))
				for i, r := range reqs {
					audiences[i] = stringAt(r, "audience")
				}
				return joinStrings(audiences, ",")
			}),
			boolean("RequiresRepublish", k8sstoragev1.CSIDriverSpec{}.SwaggerDoc()["requiresRepublish"], flag(false, "spec", "requiresRepublish")),
			str("Modes", k8sstoragev1.CSIDriverSpec{}.SwaggerDoc()["volumeLifecycleModes"], func(o protoreflect.Message, _ time.Time) any {
				return none(joinStrings(stringsAt(o, "spec", "volumeLifecycleModes"), ","))
			}),
			ageColumn()}},
		"CSINode": {columns: []column{nameColumn(),
			integer("Drivers", "Drivers indicates the number of CSI drivers registered on the node", count("spec", "drivers")),
			ageColumn()}},
		"StorageClass": {columns: []column{nameColumn(),
			str("Provisioner", k8sstoragev1.StorageClass{}.SwaggerDoc()["provisioner"], text("provisioner")),
			str("ReclaimPolicy", k8sstoragev1.StorageClass{}.SwaggerDoc()["reclaimPolicy"], optional("Delete", "reclaimPolicy")),
			str("VolumeBindingMode", k8sstoragev1.StorageClass{}.SwaggerDoc()["volumeBindingMode"], optional("Immediate", "volumeBindingMode")),
			str("AllowVolumeExpansion", k8sstoragev1.StorageClass{}.SwaggerDoc()["allowVolumeExpansion"], flag(false, "allowVolumeExpansion")),
			ageColumn()},
			list: markDefaultStorageClass},
		// The attacher column has the "name" format in kube's printer.
		"VolumeAttachment": {columns: []column{nameColumn(),
			{def: metav1.TableColumnDefinition{Name: "Attacher", Type: "string", Format: "name", Description: k8sstoragev1.VolumeAttachmentSpec{}.SwaggerDoc()["attacher"]},
				cell: text("spec", "attacher")},
			str("PV", k8sstoragev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"], text("spec", "source", "persistentVolumeName")),
			str("Node", k8sstoragev1.VolumeAttachmentSpec{}.SwaggerDoc()["nodeName"], text("spec", "nodeName")),
			boolean("Attached", k8sstoragev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"], flag(false, "status", "attached")),
			ageColumn()}},
		"VolumeAttributesClass": {columns: []column{nameColumn(),
			str("DriverName", k8sstoragev1.VolumeAttributesClass{}.SwaggerDoc()["driverName"], text("driverName")),
			ageColumn()}},
	}
}

// Column descriptions kube's printers share.
var (
	descName = metav1.ObjectMeta{}.SwaggerDoc()["name"]
	descAge  = metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]
)

const (
	descContainers = "Names of each container in the template."
	descImages     = "Images referenced by each container in the template."
)

// Column constructors: a column's type, then whether it is wide.

func str(name, desc string, cell cellFunc) column     { return typed("string", name, desc, cell) }
func integer(name, desc string, cell cellFunc) column { return typed("integer", name, desc, cell) }
func boolean(name, desc string, cell cellFunc) column { return typed("boolean", name, desc, cell) }

func typed(typ, name, desc string, cell cellFunc) column {
	return column{def: metav1.TableColumnDefinition{Name: name, Type: typ, Description: desc}, cell: cell}
}

// wide is a column kubectl shows with -o wide only (priority 1).
func wide(c column) column {
	c.def.Priority = 1
	return c
}

func nameColumn() column { return nameColumnWith(text("metadata", "name")) }

// nameColumnWith is the name column with a cell of its own (an
// IngressClass's name marks the default one).
func nameColumnWith(cell cellFunc) column {
	return column{def: metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: descName}, cell: cell}
}

func ageColumn() column { return str("Age", descAge, age) }

// containersColumn and imagesColumn are the containers of the pod
// template at path, by name and by image.
func containersColumn(template ...string) column {
	return str("Containers", descContainers, containerNames(containersOf(template)...))
}

func imagesColumn(template ...string) column {
	return str("Images", descImages, containerImages(containersOf(template)...))
}

func containersOf(template []string) []string {
	return append(append([]string{}, template...), "spec", "containers")
}

// defaultColumns are kube-apiserver's default table, for kinds without a
// printer of their own: the name and the creation time in RFC 3339.
func defaultColumns() []column {
	return []column{nameColumn(), typed("date", "Created At", descAge, func(o protoreflect.Message, _ time.Time) any {
		if t, ok := timeAt(o, "metadata", "creationTimestamp"); ok {
			return t.UTC().Format(time.RFC3339)
		}
		return "0001-01-01T00:00:00Z"
	})}
}

// Cells that are a field.

// text is a string field, "" when unset.
func text(path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any { return stringAt(o, path...) }
}

// orNone is a string field, "<none>" when empty.
func orNone(path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any { return none(stringAt(o, path...)) }
}

// optional is a field of kube's that is a pointer (*string): def when
// it is nil, its value (even "") when not.
func optional(def string, path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any {
		if !has(o, path...) {
			return def
		}
		return stringAt(o, path...)
	}
}

// number is an integer field, 0 when unset.
func number(path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any { return intAt(o, path...) }
}

// flag is a bool field, def when a *bool is nil.
func flag(def bool, path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any { return boolAt(o, def, path...) }
}

// count is the length of a list or map.
func count(path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any {
		if l := listAt(o, path...); l != nil {
			return int64(l.Len())
		}
		return int64(mapLen(o, path...))
	}
}

// joined is a list of strings joined with sep.
func joined(sep string, path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any { return joinStrings(stringsAt(o, path...), sep) }
}

// labels is a map of labels as kube's labels.FormatLabels prints it.
func labels(path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any { return formatLabels(stringMapAt(o, path...)) }
}

// selector is a LabelSelector as metav1.FormatLabelSelector prints it.
func selector(path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any {
		return metav1.FormatLabelSelector(labelSelectorAt(o, path...))
	}
}

// intOrString is an IntOrString, "N/A" when unset.
func intOrString(path ...string) cellFunc {
	return func(o protoreflect.Message, _ time.Time) any {
		v := messageAt(o, path...)
		if v == nil {
			return "N/A"
		}
		if intAt(v, "type") == 1 {
			return stringAt(v, "strVal")
		}
		return formatInt(intAt(v, "intVal"))
	}
}
