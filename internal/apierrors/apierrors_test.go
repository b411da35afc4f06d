package apierrors

import (
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
