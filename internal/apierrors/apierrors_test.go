package apierrors

import (
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// TestToStatus: Portico's errors keep their reason and code through gRPC;
// a bare gRPC error is mapped by its code, a message over gRPC's size
// limit to 500 (a retry cannot mend it), never 429.
func TestToStatus(t *testing.T) {
	for name, tc := range map[string]struct {
		err      error
		reason   Reason
		httpCode int
	}{
		"too many requests": {New(ReasonTooManyRequests, "slow down", Details{RetryAfterSeconds: 1}), ReasonTooManyRequests, http.StatusTooManyRequests},
		"too large":         {New(ReasonRequestEntityTooLarge, "too big", Details{}), ReasonRequestEntityTooLarge, http.StatusRequestEntityTooLarge},
		"not found":         {NotFound("", "pods", "p"), ReasonNotFound, http.StatusNotFound},
		"grpc size limit":   {status.Error(codes.ResourceExhausted, "grpc: received message larger than max (600 vs. 500)"), ReasonInternalError, http.StatusInternalServerError},
		"grpc unavailable":  {status.Error(codes.Unavailable, "connection refused"), ReasonServiceUnavailable, http.StatusServiceUnavailable},
		"grpc deadline":     {status.Error(codes.DeadlineExceeded, "deadline"), ReasonTimeout, http.StatusGatewayTimeout},
		"grpc unknown code": {status.Error(codes.DataLoss, "lost"), ReasonInternalError, http.StatusInternalServerError},
	} {
		t.Run(name, func(t *testing.T) {
			st, code := ToStatus(tc.err)
			if Reason(st.GetReason()) != tc.reason || code != tc.httpCode || int(st.GetCode()) != tc.httpCode {
				t.Errorf("reason %s code %d (status code %d), want %s %d", st.GetReason(), code, st.GetCode(), tc.reason, tc.httpCode)
			}
		})
	}
}

func TestInvalidMessage(t *testing.T) {
	a := &corev1.StatusCause{Field: "spec.a", Message: "Required value"}
	b := &corev1.StatusCause{Field: "spec.b", Message: "Invalid value: 1: no"}
	for _, tc := range []struct {
		causes []*corev1.StatusCause
		want   string
	}{
		{nil, `Deployment.apps "d" is invalid`},
		{[]*corev1.StatusCause{a}, `Deployment.apps "d" is invalid: spec.a: Required value`},
		{[]*corev1.StatusCause{a, b}, `Deployment.apps "d" is invalid: [spec.a: Required value, spec.b: Invalid value: 1: no]`},
	} {
		st, _ := ToStatus(Invalid("apps", "Deployment", "d", tc.causes))
		if st.GetMessage() != tc.want {
			t.Errorf("%d causes: %q, want %q", len(tc.causes), st.GetMessage(), tc.want)
		}
	}
}
