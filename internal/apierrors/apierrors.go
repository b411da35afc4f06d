// Package apierrors is the one table between Kubernetes API errors and gRPC
// status. Services build errors here (NotFound, Conflict, ...): each is a
// gRPC status carrying an errdetails.ErrorInfo with the Kubernetes reason and
// the object's name, kind and group. The gateway turns any gRPC error back
// into a Kubernetes Status with ToStatus, so the mapping lives in one place.
package apierrors

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
)

// Domain is the ErrorInfo domain of Portico's errors.
const Domain = "portico.dev"

// Reason is a Kubernetes StatusReason.
type Reason string

// The Kubernetes reasons Portico answers with.
const (
	ReasonBadRequest            Reason = "BadRequest"
	ReasonUnauthorized          Reason = "Unauthorized"
	ReasonForbidden             Reason = "Forbidden"
	ReasonNotFound              Reason = "NotFound"
	ReasonMethodNotAllowed      Reason = "MethodNotAllowed"
	ReasonAlreadyExists         Reason = "AlreadyExists"
	ReasonConflict              Reason = "Conflict"
	ReasonGone                  Reason = "Expired"
	ReasonRequestEntityTooLarge Reason = "RequestEntityTooLarge"
	ReasonUnsupportedMediaType  Reason = "UnsupportedMediaType"
	ReasonInvalid               Reason = "Invalid"
	ReasonTooManyRequests       Reason = "TooManyRequests"
	ReasonInternalError         Reason = "InternalError"
	ReasonServiceUnavailable    Reason = "ServiceUnavailable"
	ReasonTimeout               Reason = "Timeout"
	ReasonNotAcceptable         Reason = "NotAcceptable"
)

// row is one line of the table: a reason, its gRPC code and its HTTP code.
type row struct {
	code codes.Code
	http int
}

var table = map[Reason]row{
	ReasonBadRequest:            {codes.InvalidArgument, http.StatusBadRequest},
	ReasonUnauthorized:          {codes.Unauthenticated, http.StatusUnauthorized},
	ReasonForbidden:             {codes.PermissionDenied, http.StatusForbidden},
	ReasonNotFound:              {codes.NotFound, http.StatusNotFound},
	ReasonMethodNotAllowed:      {codes.Unimplemented, http.StatusMethodNotAllowed},
	ReasonAlreadyExists:         {codes.AlreadyExists, http.StatusConflict},
	ReasonConflict:              {codes.Aborted, http.StatusConflict},
	ReasonGone:                  {codes.OutOfRange, http.StatusGone},
	ReasonRequestEntityTooLarge: {codes.ResourceExhausted, http.StatusRequestEntityTooLarge},
	ReasonUnsupportedMediaType:  {codes.InvalidArgument, http.StatusUnsupportedMediaType},
	ReasonInvalid:               {codes.InvalidArgument, http.StatusUnprocessableEntity},
	ReasonTooManyRequests:       {codes.ResourceExhausted, http.StatusTooManyRequests},
	ReasonInternalError:         {codes.Internal, http.StatusInternalServerError},
	ReasonServiceUnavailable:    {codes.Unavailable, http.StatusServiceUnavailable},
	ReasonTimeout:               {codes.DeadlineExceeded, http.StatusGatewayTimeout},
	ReasonNotAcceptable:         {codes.InvalidArgument, http.StatusNotAcceptable},
}

// byCode answers for gRPC errors that carry no ErrorInfo (from grpc itself,
// or from a peer that is not Portico).
var byCode = map[codes.Code]Reason{
	codes.InvalidArgument:  ReasonBadRequest,
	codes.Unauthenticated:  ReasonUnauthorized,
	codes.PermissionDenied: ReasonForbidden,
	codes.NotFound:         ReasonNotFound,
	codes.Unimplemented:    ReasonMethodNotAllowed,
	codes.AlreadyExists:    ReasonAlreadyExists,
	codes.Aborted:          ReasonConflict,
	codes.OutOfRange:       ReasonGone,
	// Portico's own 429 and 413 carry their reason; a bare
	// ResourceExhausted is gRPC's (a message over its size limit), which
	// no retry mends.
	codes.ResourceExhausted:  ReasonInternalError,
	codes.Unavailable:        ReasonServiceUnavailable,
	codes.DeadlineExceeded:   ReasonTimeout,
	codes.Canceled:           ReasonTimeout,
	codes.FailedPrecondition: ReasonInvalid,
}

// Details name the object an error is about.
type Details struct {
	Group, Kind, Name string
	Causes            []*corev1.StatusCause
	RetryAfterSeconds int32
}

// New returns a gRPC status error for a Kubernetes reason.
func New(reason Reason, message string, d Details) error {
	r, ok := table[reason]
	if !ok {
		r = table[ReasonInternalError]
	}
	md := map[string]string{}
	if d.Group != "" {
		md["group"] = d.Group
	}
	if d.Kind != "" {
		md["kind"] = d.Kind
	}
	if d.Name != "" {
		md["name"] = d.Name
	}
	if d.RetryAfterSeconds > 0 {
		md["retryAfterSeconds"] = strconv.Itoa(int(d.RetryAfterSeconds))
	}
	st := status.New(r.code, message)
	info := &errdetails.ErrorInfo{Reason: string(reason), Domain: Domain, Metadata: md}
	violations := &errdetails.BadRequest{}
	for _, c := range d.Causes {
		violations.FieldViolations = append(violations.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: c.GetField(), Description: c.GetMessage(), Reason: c.GetReason(),
		})
	}
	var err error
	if len(violations.FieldViolations) > 0 {
		st, err = st.WithDetails(info, violations)
	} else {
		st, err = st.WithDetails(info)
	}
	if err != nil {
		return status.Error(r.code, message)
	}
	return st.Err()
}

// NotFound is `<resource> "<name>" not found`.
func NotFound(group, resource, name string) error {
	return New(ReasonNotFound, fmt.Sprintf("%s %q not found", qualified(group, resource), name),
		Details{Group: group, Kind: resource, Name: name})
}

// AlreadyExists is `<resource> "<name>" already exists`.
func AlreadyExists(group, resource, name string) error {
	return New(ReasonAlreadyExists, fmt.Sprintf("%s %q already exists", qualified(group, resource), name),
		Details{Group: group, Kind: resource, Name: name})
}

// Conflict is the optimistic-concurrency failure of an update or delete.
func Conflict(group, resource, name, why string) error {
	return New(ReasonConflict, fmt.Sprintf("Operation cannot be fulfilled on %s %q: %s", qualified(group, resource), name, why),
		Details{Group: group, Kind: resource, Name: name})
}

// Invalid is a 422 listing the fields at fault.
func Invalid(group, kind, name string, causes []*corev1.StatusCause) error {
	msg := fmt.Sprintf("%s %q is invalid", kindQualified(group, kind), name)
	// One cause is the message; several are a bracketed list, as kube's
	// aggregated field errors print.
	parts := make([]string, len(causes))
	for i, c := range causes {
		parts[i] = c.GetField() + ": " + c.GetMessage()
	}
	switch len(parts) {
	case 0:
	case 1:
		msg += ": " + parts[0]
	default:
		msg += ": [" + strings.Join(parts, ", ") + "]"
	}
	return New(ReasonInvalid, msg, Details{Group: group, Kind: kind, Name: name, Causes: causes})
}

// BadRequest is a 400 with the given message.
func BadRequest(message string) error { return New(ReasonBadRequest, message, Details{}) }

// Unauthorized is a 401.
func Unauthorized(message string) error { return New(ReasonUnauthorized, message, Details{}) }

// Forbidden is a 403 in Kubernetes wording.
func Forbidden(group, resource, name, message string) error {
	return New(ReasonForbidden, message, Details{Group: group, Kind: resource, Name: name})
}

// Gone is a 410: the resourceVersion asked for is too old.
func Gone(message string) error { return New(ReasonGone, message, Details{}) }

// Internal is a 500. The message reaches the client: put no secrets in it.
func Internal(message string) error { return New(ReasonInternalError, message, Details{}) }

// Unavailable is a 503: a backend service could not be reached.
func Unavailable(message string) error { return New(ReasonServiceUnavailable, message, Details{}) }

// UnsupportedMediaType is kube-apiserver's 415 for a body in none of the
// accepted media types.
func UnsupportedMediaType(accepted ...string) error {
	return New(ReasonUnsupportedMediaType,
		"the body of the request was in an unknown format - accepted media types include: "+strings.Join(accepted, ", "), Details{})
}

// MethodNotAllowed is a 405.
func MethodNotAllowed() error {
	return New(ReasonMethodNotAllowed, "the server does not allow this method on the requested resource", Details{})
}

// ToStatus turns any error into the Kubernetes Status to answer with, and
// its HTTP code. Errors that are not gRPC status are internal errors.
func ToStatus(err error) (*corev1.Status, int) {
	st, ok := status.FromError(err)
	if !ok {
		var se interface{ GRPCStatus() *status.Status }
		if errors.As(err, &se) {
			st = se.GRPCStatus()
		} else {
			st = status.New(codes.Internal, err.Error())
		}
	}
	return FromGRPCStatus(st)
}

// FromGRPCStatus is ToStatus for a status already in hand.
func FromGRPCStatus(st *status.Status) (*corev1.Status, int) {
	reason, known := byCode[st.Code()]
	if !known {
		reason = ReasonInternalError
	}
	out := &corev1.Status{Status: "Failure", Message: st.Message()}
	var details *corev1.StatusDetails
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() != Domain {
				continue
			}
			if _, ok := table[Reason(d.GetReason())]; ok {
				reason = Reason(d.GetReason())
			}
			md := d.GetMetadata()
			if len(md) == 0 {
				continue
			}
			if details == nil {
				details = &corev1.StatusDetails{}
			}
			details.Name, details.Group, details.Kind = md["name"], md["group"], md["kind"]
			if s, ok := md["retryAfterSeconds"]; ok {
				if n, err := strconv.Atoi(s); err == nil {
					details.RetryAfterSeconds = int32(n)
				}
			}
		case *errdetails.BadRequest:
			if details == nil {
				details = &corev1.StatusDetails{}
			}
			for _, v := range d.GetFieldViolations() {
				details.Causes = append(details.Causes, &corev1.StatusCause{
					Reason: v.GetReason(), Message: v.GetDescription(), Field: v.GetField(),
				})
			}
		}
	}
	out.Reason = string(reason)
	if details == nil && reason == ReasonForbidden {
		// kube-apiserver's NewForbidden always names the (maybe empty)
		// resource: a refused path answers "details":{}.
		details = &corev1.StatusDetails{}
	}
	out.Details = details
	httpCode := table[reason].http
	out.Code = int32(httpCode)
	return out, httpCode
}

// ReasonOf is the Kubernetes reason of err ("" when err is nil).
func ReasonOf(err error) Reason {
	if err == nil {
		return ""
	}
	st, _ := ToStatus(err)
	return Reason(st.GetReason())
}

// HTTPCode is the HTTP status of a reason.
func HTTPCode(r Reason) int { return table[r].http }

// StatusFor builds a failure Status directly, for errors the gateway finds
// itself (bad paths, media types, sizes) before any gRPC call.
func StatusFor(reason Reason, message string, details *corev1.StatusDetails) (*corev1.Status, int) {
	code := table[reason].http
	return &corev1.Status{Status: "Failure", Message: message, Reason: string(reason), Details: details, Code: int32(code)}, code
}

func qualified(group, resource string) string {
	if group == "" {
		return resource
	}
	return resource + "." + group
}

func kindQualified(group, kind string) string {
	if group == "" {
		return kind
	}
	return kind + "." + group
}
