package gateway

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/portico-dev/portico/internal/eventconv"
	"github.com/portico-dev/portico/internal/kjson"
	eventsv1 "github.com/portico-dev/portico/proto/portico/events/v1"
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

// cellFunc computes one cell of an object's row; now is when the Table
// is made, for the cells that are ages.
type cellFunc func(obj protoreflect.Message, now time.Time) any

// column is a column definition and how to compute its cell.
type column struct {
	def  metav1.TableColumnDefinition
	cell cellFunc
	// undeclared is a cell kube-apiserver's printer writes without
	// defining a column for it (an IPAddress's age): the row has the
	// cell, the table no definition.
	undeclared bool
}

// printer is a kind's Table: its columns, and what kube-apiserver's
// printer of the kind does beyond the cells.
type printer struct {
	columns []column
	// conditions are a row's conditions (a finished pod is Completed).
	conditions func(obj protoreflect.Message) []metav1.TableRowCondition
	// list is what the kind's list printer does to a list's rows after
	// printing each item (order them, mark the default one); a single
	// object and a watch event are printed without it.
	list func(objs []protoreflect.Message, rows []metav1.TableRow)
}

// tabler turns answers into Tables.
type tabler struct {
	json     *kjson.Marshaler
	printers map[string]printer // by kind
	// printedAs converts the messages of a second version of a kind to
	// the one its printer reads, as kube prints every version from the
	// internal object.
	printedAs map[protoreflect.FullName]func(protoreflect.Message) protoreflect.Message
	now       func() time.Time
}

func newTabler(j *kjson.Marshaler) *tabler {
	return &tabler{json: j, printers: kindPrinters(), now: time.Now, printedAs: map[protoreflect.FullName]func(protoreflect.Message) protoreflect.Message{
		// events.k8s.io/v1 Events print as the core events they are
		// stored as.
		(*eventsv1.Event)(nil).ProtoReflect().Descriptor().FullName(): func(m protoreflect.Message) protoreflect.Message {
			return eventconv.ToCore(m.Interface().(*eventsv1.Event)).ProtoReflect()
		},
	}}
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
		return t.build(req, itemKind(fields.ByName("items")), objs, meta, true)
	case fields.ByName("type") != nil && fields.ByName("object") != nil && kind == "":
		obj := m.Get(fields.ByName("object")).Message()
		tb, err := t.build(req, kindOfMessage(t.json.Types(), obj.Descriptor()), []protoreflect.Message{obj}, nil, false)
		if err != nil {
			return nil, err
		}
		tb.ResourceVersion = stringAt(obj, "metadata", "resourceVersion")
		return tableEvent{Type: m.Get(fields.ByName("type")).String(), Object: *tb}, nil
	case kind != "" && kind != "Status" && fields.ByName("metadata") != nil:
		tb, err := t.build(req, kind, []protoreflect.Message{m}, nil, false)
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

// build prints objs as kind's Table; list says they are a list's items
// (listMeta its metadata, when it has any).
func (t *tabler) build(req tableRequest, kind string, objs []protoreflect.Message, listMeta protoreflect.Message, list bool) (*metav1.Table, error) {
	p, ok := t.printers[kind]
	if !ok {
		p = printer{columns: defaultColumns()}
	}
	cols := p.columns
	tb := &metav1.Table{TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"}, Rows: []metav1.TableRow{}}
	if listMeta != nil {
		tb.ResourceVersion = stringAt(listMeta, "resourceVersion")
		tb.Continue = stringAt(listMeta, "continue")
	}
	for _, c := range cols {
		if !c.undeclared {
			tb.ColumnDefinitions = append(tb.ColumnDefinitions, c.def)
		}
	}
	now := t.now()
	for _, obj := range objs {
		row := metav1.TableRow{Cells: make([]any, len(cols))}
		printed := obj
		if as := t.printedAs[obj.Descriptor().FullName()]; as != nil {
			printed = as(obj)
		}
		for i, c := range cols {
			row.Cells[i] = c.cell(printed, now)
		}
		if p.conditions != nil {
			row.Conditions = p.conditions(printed)
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
	if list && p.list != nil {
		p.list(objs, tb.Rows)
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

// valueAt walks JSON names ("status", "phase") through messages; a nil
// message has nothing.
func valueAt(m protoreflect.Message, path ...string) (protoreflect.Value, protoreflect.FieldDescriptor, bool) {
	var v protoreflect.Value
	var fd protoreflect.FieldDescriptor
	if m == nil {
		return v, fd, false
	}
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

func intAt(m protoreflect.Message, path ...string) int64 {
	v, fd, ok := valueAt(m, path...)
	if !ok || fd.IsList() || fd.IsMap() {
		return 0
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind,
		protoreflect.Sfixed32Kind, protoreflect.Sfixed64Kind:
		return v.Int()
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		return int64(v.Uint())
	}
	return 0
}

// boolAt is a bool field, or def when it is unset (a *bool's default).
func boolAt(m protoreflect.Message, def bool, path ...string) bool {
	v, fd, ok := valueAt(m, path...)
	if !ok || fd.Kind() != protoreflect.BoolKind {
		return def
	}
	return v.Bool()
}

// has reports whether the field at path is set: a pointer of kube's types
// that is not nil, a list or map that is not empty.
func has(m protoreflect.Message, path ...string) bool {
	_, _, ok := valueAt(m, path...)
	return ok
}

// messageAt is the message at path, or nil.
func messageAt(m protoreflect.Message, path ...string) protoreflect.Message {
	v, fd, ok := valueAt(m, path...)
	if !ok || fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
		return nil
	}
	return v.Message()
}

// messages are the items of a list of messages.
func messages(l protoreflect.List) []protoreflect.Message {
	out := make([]protoreflect.Message, listLen(l))
	for i := range out {
		out[i] = l.Get(i).Message()
	}
	return out
}

// stringsAt are the items of a list of strings.
func stringsAt(m protoreflect.Message, path ...string) []string {
	l := listAt(m, path...)
	out := make([]string, listLen(l))
	for i := range out {
		out[i] = l.Get(i).String()
	}
	return out
}

// stringMapAt is a map of strings, or nil.
func stringMapAt(m protoreflect.Message, path ...string) map[string]string {
	v, fd, ok := valueAt(m, path...)
	if !ok || !fd.IsMap() || fd.MapValue().Kind() != protoreflect.StringKind {
		return nil
	}
	out := make(map[string]string, v.Map().Len())
	v.Map().Range(func(k protoreflect.MapKey, val protoreflect.Value) bool {
		out[k.String()] = val.String()
		return true
	})
	return out
}

func listLen(l protoreflect.List) int {
	if l == nil {
		return 0
	}
	return l.Len()
}

// quantity is a Quantity message as kube prints one: canonical, "<nil>"
// for none (a nil *Quantity's String).
func quantity(q protoreflect.Message) string {
	if q == nil {
		return "<nil>"
	}
	s := stringAt(q, "string")
	parsed, err := resource.ParseQuantity(s)
	if err != nil {
		return s
	}
	return parsed.String()
}

// quantityIn is one quantity of a ResourceList (a map of Quantity),
// "0" when it has none, as a zero Quantity prints.
func quantityIn(m protoreflect.Message, name string, path ...string) string {
	v, fd, ok := valueAt(m, path...)
	if !ok || !fd.IsMap() || fd.MapValue().Kind() != protoreflect.MessageKind {
		return "0"
	}
	q := v.Map().Get(protoreflect.ValueOfString(name).MapKey())
	if !q.IsValid() {
		return "0"
	}
	return quantity(q.Message())
}

// labelSelectorAt is the LabelSelector message at path as
// k8s.io/apimachinery's type, nil when unset.
func labelSelectorAt(m protoreflect.Message, path ...string) *metav1.LabelSelector {
	s := messageAt(m, path...)
	if s == nil {
		return nil
	}
	ls := &metav1.LabelSelector{MatchLabels: stringMapAt(s, "matchLabels")}
	for _, e := range messages(listAt(s, "matchExpressions")) {
		ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{
			Key:      stringAt(e, "key"),
			Operator: metav1.LabelSelectorOperator(stringAt(e, "operator")),
			Values:   stringsAt(e, "values"),
		})
	}
	return ls
}

// since is kube's translateTimestampSince: the time from t to now,
// "<unknown>" for no time.
func since(t time.Time, ok bool, now time.Time) string {
	if !ok || t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}

// age is the AGE cell: kube's HumanDuration of the time since creation.
func age(obj protoreflect.Message, now time.Time) any {
	t, ok := timeAt(obj, "metadata", "creationTimestamp")
	return since(t, ok, now)
}

func none(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
