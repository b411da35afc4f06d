package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/kubeproto"
	"github.com/portico-dev/portico/internal/requestinfo"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	authzv1 "github.com/portico-dev/portico/proto/portico/authz/v1"
)

// The authorization.k8s.io/v1 REST surface: the access reviews
// (create-only, nothing stored), served by hand over the authz service's
// AccessReviewService, which authorizes each as a create of its kind.
// And the secure port's authorization of non-resource paths, which no
// backend sees.

const (
	authzGroup        = "authorization.k8s.io"
	authzGroupVersion = authzGroup + "/v1"
)

// authzResources are authorization.k8s.io/v1's resources in discovery.
var authzResources = []apiResource{
	{Name: "localsubjectaccessreviews", SingularName: "localsubjectaccessreview", Namespaced: true, Kind: "LocalSubjectAccessReview", Verbs: []string{"create"}},
	{Name: "selfsubjectaccessreviews", SingularName: "selfsubjectaccessreview", Kind: "SelfSubjectAccessReview", Verbs: []string{"create"}},
	{Name: "selfsubjectrulesreviews", SingularName: "selfsubjectrulesreview", Kind: "SelfSubjectRulesReview", Verbs: []string{"create"}},
	{Name: "subjectaccessreviews", SingularName: "subjectaccessreview", Kind: "SubjectAccessReview", Verbs: []string{"create"}},
}

// authorizationGroup is the authorization.k8s.io entry of /apis.
func authorizationGroup() map[string]any {
	v := map[string]string{"groupVersion": authzGroupVersion, "version": "v1"}
	return map[string]any{"name": authzGroup, "versions": []any{v}, "preferredVersion": v}
}

// authzTypes is a registry of the review kinds as kube-apiserver writes
// them (k8s.io/api/authorization/v1 types.go: spec and status are
// structs, allowed and incomplete have no omitempty, the rule lists and
// verbs are nil-able slices without omitempty, ExtraValue is a bare
// list), with ObjectMeta's shape taken from the gateway's registry. It is
// the reviews' own: the shared registry is not written to.
func authzTypes(shared *kjson.Types) *kjson.Types {
	var entries []kjson.Entry
	for _, name := range []protoreflect.FullName{
		"portico.core.v1.ObjectMeta", "portico.core.v1.OwnerReference", "portico.core.v1.ManagedFieldsEntry",
		"portico.core.v1.FieldsV1", "portico.core.v1.Status", "portico.core.v1.StatusDetails",
	} {
		typ, ok := shared.Lookup(name)
		if !ok {
			continue
		}
		mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
		if err != nil {
			continue
		}
		entries = append(entries, kjson.Entry{Msg: mt.Zero().Interface(), Type: typ})
	}
	object := []string{"metadata", "spec", "status"}
	entries = append(entries,
		kjson.Entry{Msg: &authzv1.SubjectAccessReview{}, Type: kjson.Type{APIVersion: authzGroupVersion, Kind: "SubjectAccessReview", AlwaysEmit: object}},
		kjson.Entry{Msg: &authzv1.LocalSubjectAccessReview{}, Type: kjson.Type{APIVersion: authzGroupVersion, Kind: "LocalSubjectAccessReview", AlwaysEmit: object}},
		kjson.Entry{Msg: &authzv1.SelfSubjectAccessReview{}, Type: kjson.Type{APIVersion: authzGroupVersion, Kind: "SelfSubjectAccessReview", AlwaysEmit: object}},
		kjson.Entry{Msg: &authzv1.SelfSubjectRulesReview{}, Type: kjson.Type{APIVersion: authzGroupVersion, Kind: "SelfSubjectRulesReview", AlwaysEmit: object}},
		kjson.Entry{Msg: &authzv1.SubjectAccessReviewStatus{}, Type: kjson.Type{AlwaysEmit: []string{"allowed"}}},
		kjson.Entry{Msg: &authzv1.SubjectRulesReviewStatus{}, Type: kjson.Type{AlwaysEmit: []string{"incomplete"}, EmitNull: []string{"resourceRules", "nonResourceRules"}}},
		kjson.Entry{Msg: &authzv1.ResourceRule{}, Type: kjson.Type{EmitNull: []string{"verbs"}}},
		kjson.Entry{Msg: &authzv1.NonResourceRule{}, Type: kjson.Type{EmitNull: []string{"verbs"}}},
		kjson.Entry{Msg: &authnv1.ExtraValue{}, Type: kjson.Type{Encoding: kjson.EncodingItems}},
	)
	t, err := kjson.NewTypes(entries...)
	if err != nil {
		panic(err) // a fixed table
	}
	return t
}

// authzRoutes adds the authorization.k8s.io routes to the gateway's local
// routes.
func (g *Gateway) authzRoutes(local *http.ServeMux) {
	shared, ok := g.json.(*kjson.Marshaler)
	if !ok {
		panic("gateway: the JSON marshaler is not kjson")
	}
	jm := kjson.New(kjson.WithTypes(authzTypes(shared.Types())), kjson.WithDecodeOptions(kjson.DecodeOptions{MaxBytes: g.opts.MaxBodyBytes}))
	a := &accessReviews{g: g, json: jm, body: &reviews{g: g, json: jm, proto: kubeproto.New(jm)}}
	local.HandleFunc("GET /apis/"+authzGroup, a.group)
	local.HandleFunc("GET /apis/"+authzGroupVersion, a.resources)
	local.HandleFunc("POST /apis/"+authzGroupVersion+"/subjectaccessreviews", a.subjectAccessReview)
	local.HandleFunc("POST /apis/"+authzGroupVersion+"/namespaces/{namespace}/localsubjectaccessreviews", a.localSubjectAccessReview)
	local.HandleFunc("POST /apis/"+authzGroupVersion+"/selfsubjectaccessreviews", a.selfSubjectAccessReview)
	local.HandleFunc("POST /apis/"+authzGroupVersion+"/selfsubjectrulesreviews", a.selfSubjectRulesReview)
}

// accessReviews serves the authorization.k8s.io/v1 requests.
type accessReviews struct {
	g    *Gateway
	json *kjson.Marshaler
	// body decodes request bodies (JSON or Kubernetes protobuf) as the
	// authentication reviews do.
	body *reviews
}

func (a *accessReviews) group(w http.ResponseWriter, _ *http.Request) {
	g := authorizationGroup()
	g["kind"], g["apiVersion"] = "APIGroup", "v1"
	writeJSON(w, g)
}

func (a *accessReviews) resources(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": authzGroupVersion, "resources": authzResources,
	})
}

// call decodes the review into in, asks authz with the caller's identity,
// and answers 201 with the review authz returned.
func (a *accessReviews) call(w http.ResponseWriter, req *http.Request, in proto.Message, ask func(*authnv1.UserInfo) (proto.Message, error)) {
	u, ok := a.body.user(w, req)
	if !ok {
		return
	}
	if a.g.deps.Authz == nil {
		a.g.writeError(w, apierrors.Unavailable("authorization is not configured on this gateway"))
		return
	}
	if !a.body.decode(w, req, in) {
		return
	}
	out, err := ask(u)
	if err != nil {
		a.g.writeError(w, err)
		return
	}
	buf, err := a.json.Marshal(out)
	if err != nil {
		a.g.writeError(w, apierrors.Internal("encoding the review: "+err.Error()))
		return
	}
	if prettyRequested(req) {
		var b bytes.Buffer
		if json.Indent(&b, buf, "", "  ") == nil {
			buf = b.Bytes()
		}
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(append(buf, '\n'))
}

func (a *accessReviews) subjectAccessReview(w http.ResponseWriter, req *http.Request) {
	in := &authzv1.SubjectAccessReview{}
	a.call(w, req, in, func(u *authnv1.UserInfo) (proto.Message, error) {
		resp, err := a.g.deps.Authz.CreateSubjectAccessReview(req.Context(), u, &authzv1.CreateSubjectAccessReviewRequest{SubjectAccessReview: in})
		return resp.GetSubjectAccessReview(), err
	})
}

func (a *accessReviews) localSubjectAccessReview(w http.ResponseWriter, req *http.Request) {
	in := &authzv1.LocalSubjectAccessReview{}
	a.call(w, req, in, func(u *authnv1.UserInfo) (proto.Message, error) {
		resp, err := a.g.deps.Authz.CreateLocalSubjectAccessReview(req.Context(), u, &authzv1.CreateLocalSubjectAccessReviewRequest{
			Namespace: req.PathValue("namespace"), LocalSubjectAccessReview: in,
		})
		return resp.GetLocalSubjectAccessReview(), err
	})
}

func (a *accessReviews) selfSubjectAccessReview(w http.ResponseWriter, req *http.Request) {
	in := &authzv1.SelfSubjectAccessReview{}
	a.call(w, req, in, func(u *authnv1.UserInfo) (proto.Message, error) {
		resp, err := a.g.deps.Authz.CreateSelfSubjectAccessReview(req.Context(), u, &authzv1.CreateSelfSubjectAccessReviewRequest{SelfSubjectAccessReview: in})
		return resp.GetSelfSubjectAccessReview(), err
	})
}

func (a *accessReviews) selfSubjectRulesReview(w http.ResponseWriter, req *http.Request) {
	in := &authzv1.SelfSubjectRulesReview{}
	a.call(w, req, in, func(u *authnv1.UserInfo) (proto.Message, error) {
		resp, err := a.g.deps.Authz.CreateSelfSubjectRulesReview(req.Context(), u, &authzv1.CreateSelfSubjectRulesReviewRequest{SelfSubjectRulesReview: in})
		return resp.GetSelfSubjectRulesReview(), err
	})
}

// authorizeRequest is the secure port's authorization filter. A path two
// readers could split differently (dot segments, empty segments, escaped
// slashes) is refused before any router sees it. A non-resource request
// (/version, /api, /healthz, ...) is decided here, since no backend sees
// it; a resource request is decided by the service that serves it, from
// the call it receives, so REST and gRPC are decided alike. A watch is
// decided here too (on the same attributes, so the same cached decision):
// once a stream is open the answer is 200, and a refusal must be a 403.
func (g *Gateway) authorizeRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := requestInfoOf(r)
		if err != nil {
			if errors.Is(err, requestinfo.ErrBadPath) {
				g.fail(w, apierrors.ReasonBadRequest, err.Error(), nil)
				return
			}
			g.fail(w, apierrors.ReasonNotFound, "the server could not find the requested resource", nil)
			return
		}
		if info.ResourceRequest && info.Verb != "watch" {
			next.ServeHTTP(w, r)
			return
		}
		u, ok := identity.UserFrom(r.Context())
		if !ok {
			g.fail(w, apierrors.ReasonUnauthorized, "Unauthorized", nil)
			return
		}
		if g.deps.Authz == nil {
			g.writeError(w, apierrors.Unavailable("authorization is not configured on this gateway"))
			return
		}
		if err := g.deps.Authz.Authorize(r.Context(), u, info.Attributes()); err != nil {
			g.writeError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
