package gateway

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/identity"
	"github.com/portico-dev/portico/internal/kjson"
	"github.com/portico-dev/portico/internal/kubeproto"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// The authentication.k8s.io/v1 REST surface: TokenReview and
// SelfSubjectReview (create-only, nothing stored), served by hand over the
// authn service's RPCs, and the OpenID discovery documents of the
// service-account token issuer.

const (
	authnGroup        = "authentication.k8s.io"
	authnGroupVersion = authnGroup + "/v1"
)

// authnResources are authentication.k8s.io/v1's resources in discovery.
var authnResources = []apiResource{
	{Name: "selfsubjectreviews", SingularName: "selfsubjectreview", Kind: "SelfSubjectReview", Verbs: []string{"create"}},
	{Name: "tokenreviews", SingularName: "tokenreview", Kind: "TokenReview", Verbs: []string{"create"}},
}

// authenticationGroup is the authentication.k8s.io entry of /apis.
func authenticationGroup() map[string]any {
	v := map[string]string{"groupVersion": authnGroupVersion, "version": "v1"}
	return map[string]any{"name": authnGroup, "versions": []any{v}, "preferredVersion": v}
}

// authnRoutes adds the authentication.k8s.io and OpenID routes to the
// gateway's local routes. The reviews have their own codec: the shared
// registry with the review kinds added, so bodies are checked against
// them, and the shared one left as it is.
func (g *Gateway) authnRoutes(local *http.ServeMux) {
	shared, ok := g.json.(*kjson.Marshaler)
	if !ok {
		panic("gateway: the JSON marshaler is not kjson")
	}
	types, err := shared.Types().With(
		kjson.Entry{Msg: &authnv1.TokenReview{}, Type: kjson.Type{APIVersion: authnGroupVersion, Kind: "TokenReview"}},
		kjson.Entry{Msg: &authnv1.SelfSubjectReview{}, Type: kjson.Type{APIVersion: authnGroupVersion, Kind: "SelfSubjectReview"}},
	)
	if err != nil {
		panic(err) // a fixed table
	}
	jm := kjson.New(kjson.WithTypes(types), kjson.WithDecodeOptions(kjson.DecodeOptions{MaxBytes: g.opts.MaxBodyBytes}))
	r := &reviews{g: g, json: jm, proto: kubeproto.New(jm)}
	local.HandleFunc("GET /apis/"+authnGroup, r.group)
	local.HandleFunc("GET /apis/"+authnGroupVersion, r.resources)
	local.HandleFunc("POST /apis/"+authnGroupVersion+"/tokenreviews", r.tokenReview)
	local.HandleFunc("POST /apis/"+authnGroupVersion+"/selfsubjectreviews", r.selfSubjectReview)
	local.HandleFunc("GET /.well-known/openid-configuration", r.openIDConfiguration)
	local.HandleFunc("GET /openid/v1/jwks", r.jwks)
}

// reviews serves the authentication.k8s.io/v1 requests.
type reviews struct {
	g     *Gateway
	json  *kjson.Marshaler
	proto *kubeproto.Marshaler
}

func (r *reviews) group(w http.ResponseWriter, _ *http.Request) {
	g := authenticationGroup()
	g["kind"], g["apiVersion"] = "APIGroup", "v1"
	writeJSON(w, g)
}

func (r *reviews) resources(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": authnGroupVersion, "resources": authnResources,
	})
}

// decode reads a request body (JSON or Kubernetes protobuf, size-limited)
// into msg, failing the request as kube-apiserver does.
func (r *reviews) decode(w http.ResponseWriter, req *http.Request, msg proto.Message) bool {
	limit := r.g.opts.MaxBodyBytes
	opts, _, err := decodeOptions(req, limit)
	if err != nil {
		r.g.fail(w, apierrors.ReasonBadRequest, err.Error(), nil)
		return false
	}
	data, err := kjson.ReadBody(http.MaxBytesReader(w, req.Body, limit+1), limit)
	if err == nil && len(data) == 0 {
		err = &kjson.DecodeError{Message: "the request body is empty"}
	}
	if err == nil {
		ct := req.Header.Get("Content-Type")
		mt, _, perr := mime.ParseMediaType(ct)
		switch {
		case ct == "" || perr == nil && mt == mediaJSON:
			err = r.json.Types().Decode(data, msg, opts)
		case perr == nil && mt == mediaProtobuf:
			err = r.proto.Decode(data, msg, opts)
		default:
			r.g.writeError(w, apierrors.UnsupportedMediaType(mediaJSON, mediaProtobuf))
			return false
		}
	}
	switch {
	case err == nil:
		return true
	case errors.Is(err, kjson.ErrRequestEntityTooLarge):
		r.g.fail(w, apierrors.ReasonRequestEntityTooLarge, err.Error(), nil)
	default:
		r.g.fail(w, apierrors.ReasonBadRequest, err.Error(), nil)
	}
	return false
}

// user is the caller the port's filters authenticated.
func (r *reviews) user(w http.ResponseWriter, req *http.Request) (*authnv1.UserInfo, bool) {
	u, ok := identity.UserFrom(req.Context())
	if !ok {
		r.g.fail(w, apierrors.ReasonUnauthorized, "Unauthorized", nil)
	}
	return u, ok
}

func (r *reviews) tokenReview(w http.ResponseWriter, req *http.Request) {
	u, ok := r.user(w, req)
	if !ok {
		return
	}
	in := &authnv1.TokenReview{}
	if !r.decode(w, req, in) {
		return
	}
	out, err := r.g.deps.Authn.CreateTokenReview(req.Context(), u, in)
	if err != nil {
		r.g.writeError(w, err)
		return
	}
	writeReview(w, req, tokenReviewJSON(out))
}

func (r *reviews) selfSubjectReview(w http.ResponseWriter, req *http.Request) {
	u, ok := r.user(w, req)
	if !ok {
		return
	}
	in := &authnv1.SelfSubjectReview{}
	if !r.decode(w, req, in) {
		return
	}
	out, err := r.g.deps.Authn.CreateSelfSubjectReview(req.Context(), u, in)
	if err != nil {
		r.g.writeError(w, err)
		return
	}
	writeReview(w, req, selfSubjectReviewJSON(out))
}

// openIDConfiguration is the OpenID Provider Configuration of the
// service-account issuer, as kube-apiserver serves it: enough for others
// to verify its tokens.
func (r *reviews) openIDConfiguration(w http.ResponseWriter, req *http.Request) {
	iss, err := r.g.deps.Authn.GetServiceAccountIssuer(req.Context())
	if err != nil {
		r.g.writeError(w, err)
		return
	}
	writeJSON(w, struct {
		Issuer        string   `json:"issuer"`
		JWKSURI       string   `json:"jwks_uri"`
		ResponseTypes []string `json:"response_types_supported"`
		SubjectTypes  []string `json:"subject_types_supported"`
		SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
	}{
		Issuer:        iss.GetIssuer(),
		JWKSURI:       "https://" + req.Host + "/openid/v1/jwks",
		ResponseTypes: []string{"id_token"},
		SubjectTypes:  []string{"public"},
		SigningAlgs:   iss.GetSigningAlgorithms(),
	})
}

func (r *reviews) jwks(w http.ResponseWriter, req *http.Request) {
	iss, err := r.g.deps.Authn.GetServiceAccountIssuer(req.Context())
	if err != nil {
		r.g.writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "no-cache, private")
	_, _ = w.Write(iss.GetJwks())
}

// The answers are written from these structs, in kube-apiserver's field
// order: a UserInfo's extra is a map of string lists in Kubernetes JSON,
// which the proto's ExtraValue{items} would not print as.

type userInfoJSON struct {
	Username string              `json:"username,omitempty"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

type reviewMetaJSON struct {
	Name              string            `json:"name,omitempty"`
	CreationTimestamp *string           `json:"creationTimestamp"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

type tokenReviewOut struct {
	Kind       string         `json:"kind"`
	APIVersion string         `json:"apiVersion"`
	Metadata   reviewMetaJSON `json:"metadata"`
	Spec       struct {
		Token     string   `json:"token,omitempty"`
		Audiences []string `json:"audiences,omitempty"`
	} `json:"spec"`
	Status struct {
		Authenticated bool          `json:"authenticated,omitempty"`
		User          *userInfoJSON `json:"user,omitempty"`
		Audiences     []string      `json:"audiences,omitempty"`
		Error         string        `json:"error,omitempty"`
	} `json:"status"`
}

type selfSubjectReviewOut struct {
	Kind       string         `json:"kind"`
	APIVersion string         `json:"apiVersion"`
	Metadata   reviewMetaJSON `json:"metadata"`
	Status     struct {
		UserInfo userInfoJSON `json:"userInfo"`
	} `json:"status"`
}

func userJSON(u *authnv1.UserInfo) userInfoJSON {
	out := userInfoJSON{Username: u.GetUsername(), UID: u.GetUid(), Groups: u.GetGroups()}
	for k, v := range u.GetExtra() {
		if out.Extra == nil {
			out.Extra = map[string][]string{}
		}
		out.Extra[k] = append([]string{}, v.GetItems()...)
	}
	return out
}

func metaJSON(m *corev1.ObjectMeta) reviewMetaJSON {
	out := reviewMetaJSON{Name: m.GetName(), Labels: m.GetLabels(), Annotations: m.GetAnnotations()}
	if ts := m.GetCreationTimestamp(); ts != nil && (ts.GetSeconds() != 0 || ts.GetNanos() != 0) {
		s := ts.AsTime().UTC().Format(time.RFC3339)
		out.CreationTimestamp = &s
	}
	return out
}

func tokenReviewJSON(tr *authnv1.TokenReview) *tokenReviewOut {
	out := &tokenReviewOut{Kind: "TokenReview", APIVersion: authnGroupVersion, Metadata: metaJSON(tr.GetMetadata())}
	out.Spec.Token, out.Spec.Audiences = tr.GetSpec().GetToken(), tr.GetSpec().GetAudiences()
	st := tr.GetStatus()
	out.Status.Authenticated, out.Status.Audiences, out.Status.Error = st.GetAuthenticated(), st.GetAudiences(), st.GetError()
	if st.GetUser() != nil {
		u := userJSON(st.GetUser())
		out.Status.User = &u
	}
	return out
}

func selfSubjectReviewJSON(r *authnv1.SelfSubjectReview) *selfSubjectReviewOut {
	out := &selfSubjectReviewOut{Kind: "SelfSubjectReview", APIVersion: authnGroupVersion, Metadata: metaJSON(r.GetMetadata())}
	out.Status.UserInfo = userJSON(r.GetStatus().GetUserInfo())
	return out
}

// writeReview answers 201 Created with a review, indented for ?pretty and
// for curl, as kube-apiserver does.
func writeReview(w http.ResponseWriter, req *http.Request, v any) {
	var (
		buf []byte
		err error
	)
	if prettyRequested(req) {
		buf, err = json.MarshalIndent(v, "", "  ")
	} else {
		buf, err = json.Marshal(v)
		buf = append(buf, '\n')
	}
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(buf)
}

// prettyRequested is kube-apiserver's isPrettyPrint: ?pretty=true, else a
// curl, Wget or browser user agent, unless ?pretty=false.
func prettyRequested(req *http.Request) bool {
	if v := req.URL.Query().Get("pretty"); v != "" {
		return v == "true" || v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "True"
	}
	ua := req.UserAgent()
	return strings.HasPrefix(ua, "curl") || strings.HasPrefix(ua, "Wget") || strings.HasPrefix(ua, "Mozilla/5.0")
}
