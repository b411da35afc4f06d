package gateway

import (
	"fmt"
	"io"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/portico-dev/portico/internal/kjson"
)

// PATCH bodies reach the api as they are: the api applies them to the
// stored object. A PATCH request's Content-Type names the patch type; the
// gateway passes it as the request's patchType and hands the body over as
// bytes (the rule's body is the Patch request's `patch` field).

// patchMediaTypes are the patch types the api applies, in the order
// kube-apiserver's 415 lists them. A server-side apply patch is YAML (or
// JSON); application/apply-patch+cbor, which client-go sends only behind
// its alpha ClientsPreferCBOR gate (kubectl never), is refused as
// kube-apiserver refuses it without its CBOR feature gate.
var patchMediaTypes = []string{
	"application/json-patch+json",
	"application/merge-patch+json",
	"application/strategic-merge-patch+json",
	"application/apply-patch+yaml",
}

// patchMarshaler decodes a PATCH body into the request's bytes field and
// answers JSON like every other request.
type patchMarshaler struct {
	*kjson.Marshaler
	limit int64
}

func (p patchMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return runtime.DecoderFunc(func(v any) error {
		b, ok := v.(*[]byte)
		if !ok {
			return fmt.Errorf("a patch body decodes only into bytes, not %T", v)
		}
		data, err := kjson.ReadBody(r, p.limit)
		if err != nil {
			return err
		}
		*b = data
		return nil
	})
}

// isPatchType reports whether mt is a patch type the api applies.
func isPatchType(mt string) bool {
	for _, p := range patchMediaTypes {
		if mt == p {
			return true
		}
	}
	return false
}

// setPatchType passes a PATCH request's media type on as ?patchType.
func setPatchType(r *http.Request, mt string) {
	q := r.URL.Query()
	q.Set("patchType", mt)
	r.URL.RawQuery = q.Encode()
}
