package gateway

import (
	"cmp"
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/apierrors"
	"github.com/portico-dev/portico/internal/requestinfo"
	"github.com/portico-dev/portico/internal/resources"
)

// Content negotiation of resource answers, as kube-apiserver's: the
// Accept header's media types are tried in order of preference (q), and
// the first the gateway can produce is answered; none is 406. Besides
// plain objects (JSON; protobuf is answered as JSON), a media type may ask
// for another shape with as=, g= and v=:
//
//   - as=Table;g=meta.k8s.io;v=v1 (or v1beta1), JSON: server-side
//     printing (table.go);
//   - as=PartialObjectMetadata or as=PartialObjectMetadataList;
//     g=meta.k8s.io;v=v1, JSON or Kubernetes protobuf: the objects'
//     metadata alone (partial.go). Get, List and Watch ask the api for
//     metadata only (metadata_only), other verbs are cut down here.

// Answer shapes.
const (
	asTable        = "Table"
	asPartial      = "PartialObjectMetadata"
	asPartialList  = "PartialObjectMetadataList"
	metaGroup      = "meta.k8s.io"
	mediaAnyType   = "*/*"
	mediaAnyApp    = "application/*"
	notAcceptable  = "only the following media types are accepted: " + mediaJSON + ", " + mediaProtobuf
	metadataOnlyQP = "metadataOnly"
)

// mediaPartialProtobuf is the marshaler key of protobuf metadata-only
// answers: the negotiation sets Accept to it, so grpc-gateway picks that
// marshaler (it matches Accept values exactly).
const mediaPartialProtobuf = mediaProtobuf + ";as=PartialObjectMetadata;portico=negotiated"

// output is the negotiated shape of an answer.
type output struct {
	as       string // "", asTable, asPartial or asPartialList
	protobuf bool   // Kubernetes protobuf (metadata only)
}

type outputKey struct{}

// outputOf is the request's negotiated shape.
func outputOf(ctx context.Context) output {
	o, _ := ctx.Value(outputKey{}).(output)
	return o
}

// negotiate picks the first media type of accept the gateway produces;
// false when there is none. No Accept header is plain JSON.
func negotiate(accept []string) (output, bool) {
	type clause struct {
		mt     string
		params map[string]string
		q      float64
	}
	var clauses []clause
	for _, h := range accept {
		for _, part := range strings.Split(h, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			q := 1.0
			if s, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(s, 64); err != nil {
					continue
				}
			}
			if q > 0 {
				clauses = append(clauses, clause{mt, params, q})
			}
		}
	}
	if len(clauses) == 0 {
		return output{}, len(accept) == 0 || strings.TrimSpace(strings.Join(accept, "")) == ""
	}
	slices.SortStableFunc(clauses, func(a, b clause) int { return cmp.Compare(b.q, a.q) })
	for _, c := range clauses {
		isJSON := c.mt == mediaJSON || c.mt == mediaAnyType || c.mt == mediaAnyApp
		isProto := c.mt == mediaProtobuf
		if !isJSON && !isProto {
			continue
		}
		as := c.params["as"]
		switch {
		case as == "":
			return output{}, true
		case c.params["g"] != metaGroup:
		case as == asTable && isJSON && (c.params["v"] == "v1" || c.params["v"] == "v1beta1"):
			return output{as: asTable}, true
		case (as == asPartial || as == asPartialList) && c.params["v"] == "v1":
			return output{as: as, protobuf: isProto}, true
		}
	}
	return output{}, false
}

// withNegotiation negotiates the answer of resource requests: 406 when
// nothing in Accept can be produced; a metadata-only Get, List or Watch
// asks the api for metadata only.
func (g *Gateway) withNegotiation(next http.Handler) http.Handler {
	kinds := map[string]resources.Resource{}
	for _, r := range resources.All() {
		kinds[r.Group+"/"+r.Resource] = r
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Has(metadataOnlyQP) || q.Has("metadata_only") {
			// Set by negotiation only: not part of the REST API.
			q.Del(metadataOnlyQP)
			q.Del("metadata_only")
			r = withQuery(r, q)
		}
		out, ok := negotiate(r.Header.Values("Accept"))
		if !ok {
			g.fail(w, apierrors.ReasonNotAcceptable, notAcceptable, nil)
			return
		}
		switch out.as {
		case "":
			next.ServeHTTP(w, r)
			return
		case asTable:
			if r.Method == http.MethodGet {
				inc := q.Get("includeObject")
				if inc == "" {
					inc = "Metadata"
				}
				r = r.WithContext(context.WithValue(r.Context(), tableKey{}, tableRequest{includeObject: inc}))
			}
			next.ServeHTTP(w, r)
			return
		}
		info, err := requestInfoOf(r)
		if err != nil || !info.ResourceRequest {
			next.ServeHTTP(w, r)
			return
		}
		if msg := partialMismatch(out.as, *info, kinds[info.APIGroup+"/"+info.Resource]); msg != "" {
			g.fail(w, apierrors.ReasonNotAcceptable, msg, nil)
			return
		}
		if info.Subresource == "" && (info.Verb == "get" || info.Verb == "list" || info.Verb == "watch") {
			q.Set(metadataOnlyQP, "true")
			r = withQuery(r, q)
		}
		if out.protobuf {
			r.Header.Set("Accept", mediaPartialProtobuf)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), outputKey{}, out)))
	})
}

// partialMismatch is kube-apiserver's 406 message when the shape asked
// for does not fit the answer (a list asked for as PartialObjectMetadata);
// "" when it fits.
func partialMismatch(as string, info requestinfo.Info, kind resources.Resource) string {
	isList := info.Verb == "list" || info.Verb == "deletecollection"
	goType := "*v1." + kind.Kind
	if isList {
		goType = "*v1." + kind.ListKind
	}
	switch {
	case kind.Kind == "":
		return ""
	case as == asPartial && isList:
		return fmt.Sprintf("you requested PartialObjectMetadata, but the requested object is a list (%s)", goType)
	case as == asPartialList && !isList:
		return fmt.Sprintf("you requested PartialObjectMetadataList, but the requested object is not a list (%s)", goType)
	}
	return ""
}

func withQuery(r *http.Request, q url.Values) *http.Request {
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	return r2
}
