package kjson

import (
	"fmt"
	"testing"

	corev1 "github.com/portico-dev/portico/proto/portico/core/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/proto"
)

func TestSmoke(t *testing.T) {
	m := New(WithTypes(CoreV1Types()))
	ns := &corev1.Namespace{Metadata: &corev1.ObjectMeta{Name: "a<b", Generation: 3, CreationTimestamp: timestamppb.New(timestamppb.Now().AsTime()), Labels: map[string]string{"z": "1", "a": "2"}, DeletionGracePeriodSeconds: proto.Int64(0)}}
	b, err := m.Marshal(ns)
	fmt.Printf("%s %v\n", b, err)
	b, err = m.Marshal(&corev1.ListConfigMapsResponse{})
	fmt.Printf("%s %v\n", b, err)
	b, err = m.Marshal(map[string]any{"result": &corev1.WatchConfigMapsResponse{Type: "ADDED", Object: &corev1.ConfigMap{Data: map[string]string{"a": "b"}, BinaryData: map[string][]byte{"x": {1, 2, 3}}}}})
	fmt.Printf("%s %v\n", b, err)
	var out *corev1.ConfigMap
	err = m.NewDecoder(stringsReader(`{"kind":"ConfigMap","metadata":{"name":"x","foo":1,"labels":{"a":"b","a":"c"}},"data":{"k":"v"},"bar":[1,2],"metadata":{}}`)).Decode(&out)
	fmt.Println(out, err)
	err = m.NewDecoder(stringsReader(`{not json`)).Decode(&out)
	fmt.Println(err)
	err = m.NewDecoder(stringsReader(`{"metadata":{"generation":"5"}}`)).Decode(&out)
	fmt.Println(err)
	err = m.NewDecoder(stringsReader(`{"kind":"Namespace","metadata":{"generation":"5"}}`)).Decode(&out)
	fmt.Println(err)
}
