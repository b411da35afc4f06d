package gateway

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/portico-dev/portico/internal/kjson"
)

// kubectl asks for server-side printing with
// "Accept: application/json;as=Table;v=v1;g=meta.k8s.io, ...": the answer
// is a meta.k8s.io/v1 Table whose columns are the ones kube-apiserver
// prints for the kind (pods: NAME READY STATUS RESTARTS AGE ...).

// tableRequest is what a request asked of its Table, kept in its context.
type tableRequest struct {
	// includeObject is None, Metadata (the default) or Object.
	includeObject string
}

type tableKey struct{}

// tableEvent is a watch event whose object is a one-row Table.
type tableEvent struct {
	Type   string       `json:"type"`
	Object metav1.Table `json:"object"`
}

// column is a column definition and how to compute its cell.
type column struct {
	def  metav1.TableColumnDefinition
	cell func(obj protoreflect.Message, now time.Time) any
}

// tabler turns answers into Tables.
type tabler struct {
	json    *kjson.Marshaler
	columns map[string][]column // by kind
	now     func() time.Time
}

func newTabler(j *kjson.Marshaler) *tabler {
	return &tabler{json: j, columns: kindColumns(), now: time.Now}
}

// rewrite converts msg when the request asked for a Table; anything that
// is not an object, a list or a watch event is answered as it is.
func (t *tabler) rewrite(ctx context.Context, msg any) (any, error) {
	req, ok := ctx.Value(tableKey{}).(tableRequest)
	if !ok {
		return msg, nil
	}
	pm, ok := msg.(proto.Message)
	if !ok {
		return msg, nil
	}
	m := pm.ProtoReflect()
	fields := m.Descriptor().Fields()
	_, kind := t.json.Types().KindOf(m.Descriptor())
	switch {
	case fields.ByName("items") != nil && fields.ByName("metadata") != nil:
		items := m.Get(fields.ByName("items")).List()
		var meta protoreflect.Message
		if m.Has(fields.ByName("metadata")) {
			meta = m.Get(fields.ByName("metadata")).Message()
		}
		objs := make([]protoreflect.Message, items.Len())
		for i := range objs {
			objs[i] = items.Get(i).Message()
		}
		return t.build(req, itemKind(fields.ByName("items")), objs, meta)
	case fields.ByName("type") != nil && fields.ByName("object") != nil && kind == "":
		obj := m.Get(fields.ByName("object")).Message()
		tb, err := t.build(req, kindOfMessage(t.json.Types(), obj.Descriptor()), []protoreflect.Message{obj}, nil)
		if err != nil {
			return nil, err
		}
		tb.ResourceVersion = stringAt(obj, "metadata", "resourceVersion")
		return tableEvent{Type: m.Get(fields.ByName("type")).String(), Object: *tb}, nil
	case kind != "" && kind != "Status" && fields.ByName("metadata") != nil:
		tb, err := t.build(req, kind, []protoreflect.Message{m}, nil)
		if err != nil {
			return nil, err
		}
		tb.ResourceVersion = stringAt(m, "metadata", "resourceVersion")
		return tb, nil
	}
	return msg, nil
}

func itemKind(fd protoreflect.FieldDescriptor) string {
	return string(fd.Message().Name())
}

func kindOfMessage(types *kjson.Types, md protoreflect.MessageDescriptor) string {
	if _, k := types.KindOf(md); k != "" {
		return k
	}
	return string(md.Name())
}

func (t *tabler) build(req tableRequest, kind string, objs []protoreflect.Message, listMeta protoreflect.Message) (*metav1.Table, error) {
	cols, ok := t.columns[kind]
	if !ok {
		cols = defaultColumns()
	}
	tb := &metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}, Rows: []metav1.TableRow{}}
	if listMeta != nil {
		tb.ResourceVersion = stringAt(listMeta, "resourceVersion")
		tb.Continue = stringAt(listMeta, "continue")
	}
	for _, c := range cols {
		tb.ColumnDefinitions = append(tb.ColumnDefinitions, c.def)
	}
	now := t.now()
	for _, obj := range objs {
		row := metav1.TableRow{Cells: make([]any, len(cols))}
		for i, c := range cols {
			row.Cells[i] = c.cell(obj, now)
		}
		switch req.includeObject {
		case "Object":
			b, err := t.json.Marshal(obj.Interface())
			if err != nil {
				return nil, err
			}
			row.Object.Raw = b
		case "None":
		default:
			b, err := t.partialMetadata(obj)
			if err != nil {
				return nil, err
			}
			row.Object.Raw = b
		}
		tb.Rows = append(tb.Rows, row)
	}
	return tb, nil
}

// partialMetadata is the row object kubectl reads: a PartialObjectMetadata.
func (t *tabler) partialMetadata(obj protoreflect.Message) ([]byte, error) {
	fd := obj.Descriptor().Fields().ByName("metadata")
	meta := []byte("{}")
	if fd != nil && obj.Has(fd) {
		b, err := t.json.Marshal(obj.Get(fd).Message().Interface())
		if err != nil {
			return nil, err
		}
		meta = []byte(strings.TrimSpace(string(b)))
	}
	return []byte(`{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":` + string(meta) + `}`), nil
}

// valueAt walks JSON names ("status", "phase") through messages.
func valueAt(m protoreflect.Message, path ...string) (protoreflect.Value, protoreflect.FieldDescriptor, bool) {
	var v protoreflect.Value
	var fd protoreflect.FieldDescriptor
	for i, name := range path {
		fd = m.Descriptor().Fields().ByJSONName(name)
		if fd == nil || !m.Has(fd) {
			return protoreflect.Value{}, fd, false
		}
		v = m.Get(fd)
		if i < len(path)-1 {
			if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
				return protoreflect.Value{}, fd, false
			}
			m = v.Message()
		}
	}
	return v, fd, true
}

func stringAt(m protoreflect.Message, path ...string) string {
	v, fd, ok := valueAt(m, path...)
	if !ok || fd.Kind() != protoreflect.StringKind || fd.IsList() {
		return ""
	}
	return v.String()
}

func listAt(m protoreflect.Message, path ...string) protoreflect.List {
	v, fd, ok := valueAt(m, path...)
	if !ok || !fd.IsList() {
		return nil
	}
	return v.List()
}

func mapLen(m protoreflect.Message, path ...string) int {
	v, fd, ok := valueAt(m, path...)
	if !ok || !fd.IsMap() {
		return 0
	}
	return v.Map().Len()
}

func timeAt(m protoreflect.Message, path ...string) (time.Time, bool) {
	v, fd, ok := valueAt(m, path...)
	if !ok || fd.Kind() != protoreflect.MessageKind {
		return time.Time{}, false
	}
	if ts, ok := v.Message().Interface().(*timestamppb.Timestamp); ok {
		return ts.AsTime(), true
	}
	// MicroTime has Timestamp's fields.
	m = v.Message()
	secs, nanos := m.Descriptor().Fields().ByName("seconds"), m.Descriptor().Fields().ByName("nanos")
	if secs == nil || nanos == nil {
		return time.Time{}, false
	}
	return time.Unix(m.Get(secs).Int(), m.Get(nanos).Int()).UTC(), true
}

// age is the AGE cell: kube's HumanDuration of the time since creation.
func age(obj protoreflect.Message, now time.Time) any {
	t, ok := timeAt(obj, "metadata", "creationTimestamp")
	if !ok {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

func none(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// Column descriptions, as kube-apiserver writes them (from the fields'
// documentation).
const (
	descName = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
	descAge  = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)

func nameColumn() column {
	return column{
		def:  metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: descName},
		cell: func(o protoreflect.Message, _ time.Time) any { return stringAt(o, "metadata", "name") },
	}
}

func ageColumn() column {
	return column{def: metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: descAge}, cell: age}
}

func col(name, desc string, priority int32, cell func(protoreflect.Message, time.Time) any) column {
	return column{def: metav1.TableColumnDefinition{Name: name, Type: "string", Description: desc, Priority: priority}, cell: cell}
}

// defaultColumns are kube-apiserver's default table, for kinds without a
// printer of their own (roles, cluster roles): the name and the creation
// time in RFC 3339.
func defaultColumns() []column {
	return []column{nameColumn(), {
		def: metav1.TableColumnDefinition{Name: "Created At", Type: "date", Description: descAge},
		cell: func(o protoreflect.Message, _ time.Time) any {
			if t, ok := timeAt(o, "metadata", "creationTimestamp"); ok {
				return t.UTC().Format(time.RFC3339)
			}
			return "0001-01-01T00:00:00Z"
		},
	}}
}
