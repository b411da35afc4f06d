package identity

import (
	"testing"

	"google.golang.org/grpc/metadata"

	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
)

func TestExtraKeysRoundTrip(t *testing.T) {
	keys := []string{
		"authentication.kubernetes.io/credential-id",
		"authentication.kubernetes.io/pod-name",
		"Mixed_Case key/with:odd%bytes",
		"plain",
		"",
	}
	u := &authnv1.UserInfo{Username: "u", Extra: map[string]*authnv1.ExtraValue{}}
	for _, k := range keys {
		u.Extra[k] = &authnv1.ExtraValue{Items: []string{"v-" + k}}
	}
	md := ToMetadata(u)
	for k := range md {
		for _, c := range k {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '_' || c == '.') {
				t.Fatalf("metadata key %q has %q, which gRPC refuses", k, c)
			}
		}
	}
	back, ok := FromMetadata(md)
	if !ok {
		t.Fatal("no user")
	}
	for _, k := range keys {
		if got := back.GetExtra()[k].GetItems(); len(got) != 1 || got[0] != "v-"+k {
			t.Errorf("extra %q = %v", k, got)
		}
	}
	if len(back.GetExtra()) != len(keys) {
		t.Errorf("extra = %v", back.GetExtra())
	}
}

func TestUnescapeRefusesBadKeys(t *testing.T) {
	for _, k := range []string{"a_", "a_2", "a_zz", "_g0"} {
		if _, ok := unescapeExtraKey(k); ok {
			t.Errorf("%q accepted", k)
		}
	}
	md := metadata.Pairs(KeyUser, "u", KeyExtraPrefix+"a_zz", "x")
	if u, _ := FromMetadata(md); len(u.GetExtra()) != 0 {
		t.Errorf("bad key decoded: %v", u.GetExtra())
	}
}
