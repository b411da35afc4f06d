package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/internal/apierrors"
	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// writeObject answers with one message in Kubernetes JSON.
func (g *Gateway) writeObject(w http.ResponseWriter, code int, msg proto.Message) {
	buf, err := g.json.Marshal(msg)
	if err != nil {
		g.log.Error("encoding a response", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(code)
	_, _ = w.Write(buf)
}

// writeStatus answers with a Kubernetes Status.
func (g *Gateway) writeStatus(w http.ResponseWriter, st *corev1.Status, code int) {
	if st.GetDetails() != nil && st.GetDetails().GetRetryAfterSeconds() > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(st.GetDetails().GetRetryAfterSeconds())))
	}
	g.writeObject(w, code, st)
}

// writeError answers with the Status of any error.
func (g *Gateway) writeError(w http.ResponseWriter, err error) {
	st, code := apierrors.ToStatus(err)
	g.writeStatus(w, st, code)
}

// fail answers with a Status the gateway decides itself.
func (g *Gateway) fail(w http.ResponseWriter, reason apierrors.Reason, message string, details *corev1.StatusDetails) {
	st, code := apierrors.StatusFor(reason, message, details)
	g.writeStatus(w, st, code)
}

// errorHandler is grpc-gateway's error handler: every gRPC error becomes
// a Kubernetes Status, mapped once by apierrors.
func (g *Gateway) errorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	g.writeError(w, err)
}

// routingErrorHandler answers paths and methods no rule matches as
// kube-apiserver does.
func (g *Gateway) routingErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	markUnrouted(r.Context())
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		g.fail(w, apierrors.ReasonMethodNotAllowed, "the server does not allow this method on the requested resource", &corev1.StatusDetails{})
	case http.StatusBadRequest:
		g.fail(w, apierrors.ReasonBadRequest, "the request could not be routed", nil)
	default:
		g.notFound(w)
	}
}

func (g *Gateway) notFound(w http.ResponseWriter) {
	g.fail(w, apierrors.ReasonNotFound, "the server could not find the requested resource", &corev1.StatusDetails{})
}
