package gateway

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/requestinfo"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

// auditLog writes one JSON line per request, in the shape of
// kube-apiserver's audit.k8s.io/v1 Event at the Metadata level, stage
// ResponseComplete, so tools made for kube-apiserver audit logs read it.
// It holds what was asked and by whom, never a request header, body or
// credential: no token, password or key can reach it.
type auditLog struct {
	mu     sync.Mutex
	w      io.Writer // nil: no audit log
	log    *slog.Logger
	failed bool // a write failed; logged once until one succeeds
}

// auditEvent is audit.k8s.io/v1 Event, the fields the Metadata level has.
type auditEvent struct {
	Kind                     string            `json:"kind"`
	APIVersion               string            `json:"apiVersion"`
	Level                    string            `json:"level"`
	AuditID                  string            `json:"auditID"`
	Stage                    string            `json:"stage"`
	RequestURI               string            `json:"requestURI"`
	Verb                     string            `json:"verb"`
	User                     auditUser         `json:"user"`
	ImpersonatedUser         *auditUser        `json:"impersonatedUser,omitempty"`
	SourceIPs                []string          `json:"sourceIPs,omitempty"`
	UserAgent                string            `json:"userAgent,omitempty"`
	ObjectRef                *auditObjectRef   `json:"objectRef,omitempty"`
	ResponseStatus           auditStatus       `json:"responseStatus"`
	RequestReceivedTimestamp string            `json:"requestReceivedTimestamp"`
	StageTimestamp           string            `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations,omitempty"`
}

// auditUser is the authenticated user (empty when authentication failed),
// or the user it impersonated.
type auditUser struct {
	Username string   `json:"username,omitempty"`
	UID      string   `json:"uid,omitempty"`
	Groups   []string `json:"groups,omitempty"`
}

type auditObjectRef struct {
	Resource    string `json:"resource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`
	APIGroup    string `json:"apiGroup,omitempty"`
	APIVersion  string `json:"apiVersion,omitempty"`
	Subresource string `json:"subresource,omitempty"`
}

type auditStatus struct {
	Metadata struct{} `json:"metadata"`
	Code     int      `json:"code"`
}

// AnnotationLatency is the audit annotation holding a request's latency
// (a Go duration: "1.5ms").
const AnnotationLatency = "portico.dev/latency"

// auditTime is metav1.MicroTime's format.
const auditTime = "2006-01-02T15:04:05.000000Z07:00"

// write logs one finished request: u is the requesting user, as, when not
// nil, the user it impersonated.
func (a *auditLog) write(r *http.Request, ri *requestinfo.Info, id string, u, as *authnv1.UserInfo, code int, start, end time.Time) {
	if a == nil || a.w == nil {
		return
	}
	ev := auditEvent{
		Kind: "Event", APIVersion: "audit.k8s.io/v1", Level: "Metadata", Stage: "ResponseComplete",
		AuditID: id, RequestURI: r.RequestURI, Verb: ri.Verb,
		SourceIPs: sourceIPs(r), UserAgent: r.UserAgent(),
		ResponseStatus:           auditStatus{Code: code},
		RequestReceivedTimestamp: start.UTC().Format(auditTime),
		StageTimestamp:           end.UTC().Format(auditTime),
		Annotations:              map[string]string{AnnotationLatency: end.Sub(start).String()},
	}
	if u != nil {
		ev.User = auditUser{Username: u.GetUsername(), UID: u.GetUid(), Groups: u.GetGroups()}
	}
	if as != nil {
		ev.ImpersonatedUser = &auditUser{Username: as.GetUsername(), UID: as.GetUid(), Groups: as.GetGroups()}
	}
	if ri.ResourceRequest {
		ev.ObjectRef = &auditObjectRef{
			Resource: ri.Resource, Namespace: ri.Namespace, Name: ri.Name,
			APIGroup: ri.APIGroup, APIVersion: ri.APIVersion, Subresource: ri.Subresource,
		}
	}
	line, err := json.Marshal(ev)
	if err != nil {
		return // unreachable: the event is strings and numbers
	}
	line = append(line, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	// One Write per line: with O_APPEND lines never interleave.
	if _, err := a.w.Write(line); err != nil {
		if !a.failed {
			a.log.Error("writing the audit log failed", "error", err)
		}
		a.failed = true
		return
	}
	if a.failed {
		a.log.Info("writing the audit log works again")
		a.failed = false
	}
}

// sourceIPs are the request's client addresses as kube-apiserver lists
// them: X-Forwarded-For, then X-Real-Ip, then the peer address, each an IP
// and listed once. The headers are whatever the client (or a proxy in
// front) sent: the audit log records them, nothing trusts them.
func sourceIPs(r *http.Request) []string {
	var ips []string
	add := func(s string) {
		if ip := net.ParseIP(strings.TrimSpace(s)); ip != nil && !slices.Contains(ips, ip.String()) {
			ips = append(ips, ip.String())
		}
	}
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, s := range strings.Split(h, ",") {
			add(s)
		}
	}
	add(r.Header.Get("X-Real-Ip"))
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	add(host)
	return ips
}
