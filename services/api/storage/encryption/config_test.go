package encryption

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	key16 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 16))
	key32 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	key33 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 33))
)

// doc is an EncryptionConfiguration with the given resources list (YAML).
func doc(resources string) string {
	return "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n" + resources
}

func TestParseValidation(t *testing.T) {
	tests := map[string]struct {
		in      string
		wantErr []string // every one must appear; none means valid
	}{
		"kube's example": {in: doc(`
  - resources: [secrets, configmaps]
    providers:
      - aesgcm:
          keys:
            - name: key1
              secret: ` + key32 + `
            - name: key2
              secret: ` + key16 + `
      - aescbc:
          keys: [{name: key1, secret: ` + key32 + `}]
      - secretbox:
          keys: [{name: key1, secret: ` + key32 + `}]
      - identity: {}
`)},
		"JSON": {in: `{"apiVersion":"apiserver.config.k8s.io/v1","kind":"EncryptionConfiguration",
			"resources":[{"resources":["secrets"],"providers":[{"identity":{}}]}]}`},
		"wildcards": {in: doc(`
  - resources: [secrets, roles.rbac.authorization.k8s.io]
    providers: [{aesgcm: {keys: [{name: a, secret: ` + key16 + `}]}}]
  - resources: ["*.rbac.authorization.k8s.io", "*."]
    providers: [{secretbox: {keys: [{name: b, secret: ` + key32 + `}]}}]
  - resources: ["*.*"]
    providers: [{identity: {}}]
`)},
		"not YAML":         {in: "{", wantErr: []string{"not a valid EncryptionConfiguration"}},
		"unknown field":    {in: doc("  - resources: [secrets]\n    providers: [{aesgmc: {}}]\n"), wantErr: []string{`unknown field "aesgmc"`}},
		"wrong apiVersion": {in: strings.Replace(doc("  - resources: [secrets]\n    providers: [{identity: {}}]\n"), "config.k8s.io/v1", "config.k8s.io/v1beta1", 1), wantErr: []string{`apiVersion "apiserver.config.k8s.io/v1beta1"`}},
		"wrong kind":       {in: strings.Replace(doc("  - resources: [secrets]\n    providers: [{identity: {}}]\n"), "EncryptionConfiguration", "Config", 1), wantErr: []string{`kind "Config"`}},
		"no resources":     {in: doc("  []\n"), wantErr: []string{"resources: at least one entry"}},
		"empty entry":      {in: doc("  - {}\n"), wantErr: []string{"resources[0].resources: at least one resource", "resources[0].providers: at least one provider"}},
		"empty provider":   {in: doc("  - resources: [secrets]\n    providers: [{}]\n"), wantErr: []string{"providers[0]: no provider given"}},
		"kms":              {in: doc("  - resources: [secrets]\n    providers: [{kms: {name: x, endpoint: unix:///k.sock}}]\n"), wantErr: []string{"kms is not supported"}},
		"two in one entry": {in: doc("  - resources: [secrets]\n    providers: [{identity: {}, aesgcm: {keys: [{name: a, secret: " + key16 + "}]}}]\n"), wantErr: []string{"one provider per list entry"}},
		"no keys":          {in: doc("  - resources: [secrets]\n    providers: [{aesgcm: {keys: []}}]\n"), wantErr: []string{"aesgcm.keys: at least one key"}},
		"bad key lengths": {in: doc(`
  - resources: [secrets]
    providers:
      - aesgcm: {keys: [{name: a, secret: ` + key33 + `}]}
      - aescbc: {keys: [{name: b, secret: ` + key16 + `}]}
      - secretbox: {keys: [{name: c, secret: ` + key16 + `}]}
`), wantErr: []string{
			`providers[0].aesgcm.keys[0].secret (key "a"): 33 bytes, aesgcm needs 16, 24 or 32`,
			`providers[1].aescbc.keys[0].secret (key "b"): 16 bytes, aescbc needs 32`,
			`providers[2].secretbox.keys[0].secret (key "c"): 16 bytes, secretbox needs 32`,
		}},
		"bad base64":         {in: doc("  - resources: [secrets]\n    providers: [{aesgcm: {keys: [{name: a, secret: '!!notbase64'}]}}]\n"), wantErr: []string{`secret (key "a"): not valid base64`}},
		"no key name":        {in: doc("  - resources: [secrets]\n    providers: [{aesgcm: {keys: [{secret: " + key16 + "}]}}]\n"), wantErr: []string{"keys[0].name: required"}},
		"colon in key name":  {in: doc("  - resources: [secrets]\n    providers: [{aesgcm: {keys: [{name: 'a:b', secret: " + key16 + "}]}}]\n"), wantErr: []string{`name "a:b": at most 64 characters, no colon`}},
		"no secret":          {in: doc("  - resources: [secrets]\n    providers: [{aesgcm: {keys: [{name: a}]}}]\n"), wantErr: []string{"keys[0].secret: required"}},
		"duplicate key name": {in: doc("  - resources: [secrets]\n    providers: [{aesgcm: {keys: [{name: a, secret: " + key16 + "}, {name: a, secret: " + key32 + "}]}}]\n"), wantErr: []string{`key "a" of aesgcm is listed twice`}},
		"duplicate key name in two entries": {in: doc(`
  - resources: [secrets]
    providers:
      - aesgcm: {keys: [{name: a, secret: ` + key16 + `}]}
      - aesgcm: {keys: [{name: a, secret: ` + key32 + `}]}
`), wantErr: []string{`key "a" of aesgcm is listed twice`}},
		"same name, two providers": {in: doc(`
  - resources: [secrets]
    providers:
      - aesgcm: {keys: [{name: a, secret: ` + key16 + `}]}
      - secretbox: {keys: [{name: a, secret: ` + key32 + `}]}
`)},
		"identity twice":    {in: doc("  - resources: [secrets]\n    providers: [{identity: {}}, {identity: {}}]\n"), wantErr: []string{"identity is listed twice"}},
		"resource twice":    {in: doc("  - resources: [secrets]\n    providers: [{identity: {}}]\n  - resources: [secrets]\n    providers: [{identity: {}}]\n"), wantErr: []string{`resources[1].resources[0]: "secrets" is already covered by "secrets"`}},
		"masked by *.":      {in: doc("  - resources: ['*.', secrets]\n    providers: [{identity: {}}]\n"), wantErr: []string{`"secrets" is already covered by "*."`}},
		"masked by *.*":     {in: doc("  - resources: ['*.*']\n    providers: [{identity: {}}]\n  - resources: ['*.apps']\n    providers: [{identity: {}}]\n"), wantErr: []string{`"*.apps" is already covered by "*.*"`}},
		"bare *":            {in: doc("  - resources: ['*']\n    providers: [{identity: {}}]\n"), wantErr: []string{`use "*.*"`}},
		"* without the dot": {in: doc("  - resources: ['secrets.*']\n    providers: [{identity: {}}]\n"), wantErr: []string{"wildcard group needs a wildcard resource"}},
		"partial wildcard":  {in: doc("  - resources: ['sec*']\n    providers: [{identity: {}}]\n"), wantErr: []string{"whole resource or group name"}},
		"upper case":        {in: doc("  - resources: [Secrets]\n    providers: [{identity: {}}]\n"), wantErr: []string{"lower case"}},
		"core with a dot":   {in: doc("  - resources: [secrets.]\n    providers: [{identity: {}}]\n"), wantErr: []string{"without a dot"}},
		"every error at once": {in: doc(`
  - resources: [secrets, secrets]
    providers: [{aesgcm: {keys: [{name: a, secret: ` + key33 + `}]}}, {kms: {}}]
`), wantErr: []string{"already covered", "33 bytes", "kms"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Parse([]byte(tc.in))
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if c == nil {
					t.Fatal("Parse returned no config")
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded, want errors %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nwant it to contain %q", err, w)
				}
			}
			for _, k := range []string{key16, key32, key33} {
				if strings.Contains(err.Error(), k) {
					t.Errorf("error leaks key material: %v", err)
				}
			}
		})
	}
}

func TestTransformerFor(t *testing.T) {
	c, err := Parse([]byte(doc(`
  - resources: [secrets, roles.rbac.authorization.k8s.io]
    providers: [{aesgcm: {keys: [{name: k2, secret: ` + key16 + `}, {name: k1, secret: ` + key32 + `}]}}]
  - resources: ["*.rbac.authorization.k8s.io"]
    providers: [{secretbox: {keys: [{name: b, secret: ` + key32 + `}]}}]
  - resources: [events]
    providers: [{identity: {}}, {aescbc: {keys: [{name: c, secret: ` + key32 + `}]}}]
`)))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		group, resource, writer string
	}{
		"secrets":              {"", "secrets", "aesgcm:k2"},
		"roles":                {"rbac.authorization.k8s.io", "roles", "aesgcm:k2"},
		"clusterroles":         {"rbac.authorization.k8s.io", "clusterroles", "secretbox:b"},
		"events":               {"", "events", "identity"},
		"configmaps":           {"", "configmaps", ""},
		"secrets of a group":   {"example.com", "secrets", ""},
		"core roles are not":   {"", "roles", ""},
		"no group match by *.": {"apps", "deployments", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := c.Writer(tc.group, tc.resource); got != tc.writer {
				t.Fatalf("Writer = %q, want %q", got, tc.writer)
			}
			if tr := c.TransformerFor(tc.group, tc.resource); (tr == nil) != (tc.writer == "") {
				t.Fatalf("TransformerFor = %v, want one: %v", tr, tc.writer != "")
			}
		})
	}
	var none *Config
	if none.TransformerFor("", "secrets") != nil {
		t.Error("a nil config transforms")
	}

	// The chain writes with the first key and reads the second.
	tr := c.TransformerFor("", "secrets")
	out, err := tr.TransformToStorage([]byte("plain"), "/registry/secrets/a/b")
	if err != nil || !bytes.HasPrefix(out, []byte("k8s:enc:aesgcm:v1:k2:")) {
		t.Fatalf("write: %q, %v", out, err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "enc.yaml")
	if err := os.WriteFile(good, []byte(doc("  - resources: [secrets]\n    providers: [{identity: {}}]\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(good); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Load of a missing file: %v", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#"), maxFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Load of a huge file: %v", err)
	}
}

// FuzzParse: no file, however malformed, panics the parser.
func FuzzParse(f *testing.F) {
	f.Add([]byte(doc("  - resources: [secrets, '*.', '*.*']\n    providers: [{aesgcm: {keys: [{name: a, secret: " + key16 + "}]}}, {identity: {}}]\n")))
	f.Add([]byte(doc("  - resources: [secrets]\n    providers: [{secretbox: {keys: [{name: a, secret: " + key32 + "}]}}, {aescbc: {keys: [{name: b, secret: " + key32 + "}]}}]\n")))
	f.Add([]byte(`{"apiVersion":"apiserver.config.k8s.io/v1","kind":"EncryptionConfiguration","resources":[{"resources":["*.apps"],"providers":[{"kms":{}}]}]}`))
	f.Add([]byte("resources: [{resources: [x.y.z], providers: [{identity: {}}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		for _, r := range c.rules {
			if r.chain == nil || len(r.resources) == 0 || r.writer == "" {
				t.Fatalf("accepted config has an incomplete rule: %+v", r)
			}
		}
	})
}
