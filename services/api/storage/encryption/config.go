// Package encryption reads kube-apiserver's EncryptionConfiguration
// (--encryption-provider-config) and gives each resource the value
// transformer its providers make: the first provider encrypts new writes,
// every listed provider reads.
//
// Supported: aesgcm, aescbc, secretbox and identity; resources named
// "secrets", "roles.rbac.authorization.k8s.io", and the wildcards "*."
// (every core resource), "*.<group>" and "*.*". Not supported: kms
// (refused with an error) and automatic reload of the file.
package encryption

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/portico-dev/portico/services/api/storage/value"
)

const (
	// APIVersion and Kind are the only ones accepted.
	APIVersion = "apiserver.config.k8s.io/v1"
	Kind       = "EncryptionConfiguration"

	// maxFileBytes bounds the file read.
	maxFileBytes = 1 << 20
)

// The file's shape, field for field as kube-apiserver's
// apiserver.config.k8s.io/v1 types.
type (
	fileConfig struct {
		Kind       string           `json:"kind"`
		APIVersion string           `json:"apiVersion"`
		Resources  []resourceConfig `json:"resources"`
	}
	resourceConfig struct {
		Resources []string         `json:"resources"`
		Providers []providerConfig `json:"providers"`
	}
	providerConfig struct {
		AESGCM    *keysConfig `json:"aesgcm,omitempty"`
		AESCBC    *keysConfig `json:"aescbc,omitempty"`
		Secretbox *keysConfig `json:"secretbox,omitempty"`
		Identity  *struct{}   `json:"identity,omitempty"`
		// KMS is known so that it is refused by name, not as a typo.
		KMS *struct {
			APIVersion string `json:"apiVersion,omitempty"`
			Name       string `json:"name,omitempty"`
			Endpoint   string `json:"endpoint,omitempty"`
			CacheSize  *int32 `json:"cachesize,omitempty"`
			Timeout    string `json:"timeout,omitempty"`
		} `json:"kms,omitempty"`
	}
	keysConfig struct {
		Keys []keyConfig `json:"keys"`
	}
	keyConfig struct {
		Name   string `json:"name"`
		Secret string `json:"secret"`
	}
)

// Config is a validated EncryptionConfiguration.
type Config struct {
	rules []rule
}

// rule is one entry of resources: the resources it covers and the chain
// of its providers.
type rule struct {
	resources []resourceName
	chain     *value.Chain
	// writer names the write provider and key for logs: "aesgcm:key2",
	// "identity".
	writer string
}

// resourceName is one name of a rule's resources: resource "*" is every
// resource of group, group "*" (with resource "*") every group.
type resourceName struct {
	resource, group string
}

func (n resourceName) String() string {
	switch {
	case n.group == "*":
		return "*.*"
	case n.resource == "*":
		return "*." + n.group
	case n.group == "":
		return n.resource
	}
	return n.resource + "." + n.group
}

// covers reports whether n applies to every resource m does.
func (n resourceName) covers(m resourceName) bool {
	switch {
	case n.group == "*":
		return true
	case n.group != m.group:
		return false
	case n.resource == "*":
		return true
	}
	return n.resource == m.resource
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("encryption config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("encryption config %s: %w", path, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("encryption config %s: larger than %d bytes", path, maxFileBytes)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("encryption config %s: %w", path, err)
	}
	return c, nil
}

// Parse validates an EncryptionConfiguration in YAML or JSON and builds
// its providers. Every problem is reported, with its place in the file;
// key material never appears in an error.
func Parse(data []byte) (*Config, error) {
	var fc fileConfig
	if err := yaml.UnmarshalStrict(data, &fc); err != nil {
		return nil, fmt.Errorf("not a valid EncryptionConfiguration: %w", err)
	}
	var errs []error
	if fc.APIVersion != APIVersion {
		errs = append(errs, fmt.Errorf("apiVersion %q: want %q", fc.APIVersion, APIVersion))
	}
	if fc.Kind != Kind {
		errs = append(errs, fmt.Errorf("kind %q: want %q", fc.Kind, Kind))
	}
	if len(fc.Resources) == 0 {
		errs = append(errs, errors.New("resources: at least one entry is required"))
	}
	c := &Config{}
	var seen []resourceName
	for i, rc := range fc.Resources {
		path := fmt.Sprintf("resources[%d]", i)
		r, rerrs := parseRule(path, rc, &seen)
		errs = append(errs, rerrs...)
		if r != nil {
			c.rules = append(c.rules, *r)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// parseRule validates one entry; seen holds the names of earlier entries
// and gets this entry's.
func parseRule(path string, rc resourceConfig, seen *[]resourceName) (*rule, []error) {
	var errs []error
	if len(rc.Resources) == 0 {
		errs = append(errs, fmt.Errorf("%s.resources: at least one resource is required", path))
	}
	r := &rule{}
	for j, s := range rc.Resources {
		p := fmt.Sprintf("%s.resources[%d]", path, j)
		n, err := parseResourceName(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		masked := false
		for _, m := range *seen {
			if m.covers(n) {
				errs = append(errs, fmt.Errorf("%s: %q is already covered by %q earlier: each resource may be configured once", p, s, m.String()))
				masked = true
				break
			}
		}
		if !masked {
			*seen = append(*seen, n)
			r.resources = append(r.resources, n)
		}
	}
	if len(rc.Providers) == 0 {
		errs = append(errs, fmt.Errorf("%s.providers: at least one provider is required", path))
	}
	var chain []value.Prefixed
	names := map[string]bool{}
	for j, pc := range rc.Providers {
		p := fmt.Sprintf("%s.providers[%d]", path, j)
		ps, name, keyNames, perrs := parseProvider(p, pc)
		errs = append(errs, perrs...)
		if len(ps) == 0 {
			continue
		}
		if name == value.IdentityName && names[name] {
			errs = append(errs, fmt.Errorf("%s: identity is listed twice", p))
			continue
		}
		names[name] = true
		if len(chain) == 0 {
			r.writer = name
			if len(keyNames) > 0 {
				r.writer = name + ":" + keyNames[0]
			}
		}
		for k, q := range ps {
			if slices.ContainsFunc(chain, func(have value.Prefixed) bool { return have.Prefix == q.Prefix }) {
				errs = append(errs, fmt.Errorf("%s: key %q of %s is listed twice: key names must be unique per provider", p, keyNames[k], name))
				continue
			}
			chain = append(chain, q)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	ch, err := value.NewChain(chain...)
	if err != nil {
		return nil, []error{fmt.Errorf("%s.providers: %w", path, err)}
	}
	r.chain = ch
	return r, nil
}

// parseResourceName reads "secrets", "roles.rbac.authorization.k8s.io",
// "*.", "*.apps" or "*.*".
func parseResourceName(s string) (resourceName, error) {
	if s == "" {
		return resourceName{}, errors.New("empty resource name")
	}
	if s != strings.ToLower(s) || strings.TrimSpace(s) != s {
		return resourceName{}, fmt.Errorf("%q: resource names are lower case, without spaces", s)
	}
	resource, group, _ := strings.Cut(s, ".")
	switch {
	case s == "*.*":
		return resourceName{resource: "*", group: "*"}, nil
	case s == "*":
		return resourceName{}, errors.New(`"*": use "*.*" for every resource or "*." for the core group's`)
	case resource == "":
		return resourceName{}, fmt.Errorf("%q: no resource before the group", s)
	case group == "*":
		return resourceName{}, fmt.Errorf("%q: a wildcard group needs a wildcard resource (\"*.*\")", s)
	case strings.Contains(resource, "*") && resource != "*", strings.Contains(group, "*"):
		return resourceName{}, fmt.Errorf("%q: a wildcard must be a whole resource or group name", s)
	case resource == "*" && group == "" && !strings.HasSuffix(s, "."):
		return resourceName{}, fmt.Errorf("%q: use \"*.\" for the core group", s)
	case resource != "*" && group == "" && strings.HasSuffix(s, "."):
		return resourceName{}, fmt.Errorf("%q: a core resource is named without a dot", s)
	}
	return resourceName{resource: resource, group: group}, nil
}

// parseProvider builds the prefixed transformers of one provider, one per
// key in the order of its keys, and returns the provider's name and its
// key names (none for identity).
func parseProvider(path string, pc providerConfig) (_ []value.Prefixed, name string, keyNames []string, _ []error) {
	type kind struct {
		name string
		keys *keysConfig
		make func([]byte) (value.Transformer, error)
		size string
	}
	var set []kind
	if pc.AESGCM != nil {
		set = append(set, kind{value.AESGCMName, pc.AESGCM, func(k []byte) (value.Transformer, error) { return value.NewAESGCM(k) }, "16, 24 or 32"})
	}
	if pc.AESCBC != nil {
		set = append(set, kind{value.AESCBCName, pc.AESCBC, func(k []byte) (value.Transformer, error) { return value.NewAESCBC(k) }, "32"})
	}
	if pc.Secretbox != nil {
		set = append(set, kind{value.SecretboxName, pc.Secretbox, func(k []byte) (value.Transformer, error) { return value.NewSecretbox(k) }, "32"})
	}
	if pc.Identity != nil {
		set = append(set, kind{name: value.IdentityName})
	}
	if pc.KMS != nil {
		return nil, "", nil, []error{fmt.Errorf("%s: kms is not supported (use aesgcm, aescbc or secretbox)", path)}
	}
	switch len(set) {
	case 0:
		return nil, "", nil, []error{fmt.Errorf("%s: no provider given (one of aesgcm, aescbc, secretbox, identity)", path)}
	case 1:
	default:
		return nil, "", nil, []error{fmt.Errorf("%s: one provider per list entry, found %s and %s", path, set[0].name, set[1].name)}
	}
	k := set[0]
	if k.name == value.IdentityName {
		return []value.Prefixed{{Transformer: value.Identity{}}}, k.name, nil, nil
	}
	if len(k.keys.Keys) == 0 {
		return nil, k.name, nil, []error{fmt.Errorf("%s.%s.keys: at least one key is required", path, k.name)}
	}
	var (
		out  []value.Prefixed
		errs []error
	)
	for i, key := range k.keys.Keys {
		p := fmt.Sprintf("%s.%s.keys[%d]", path, k.name, i)
		switch {
		case key.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: required", p))
			continue
		case strings.ContainsAny(key.Name, ": \t\r\n") || len(key.Name) > 64:
			errs = append(errs, fmt.Errorf("%s.name %q: at most 64 characters, no colon or white space (it becomes part of the stored prefix)", p, key.Name))
			continue
		case key.Secret == "":
			errs = append(errs, fmt.Errorf("%s.secret: required (base64 of the key)", p))
			continue
		}
		secret, err := base64.StdEncoding.DecodeString(key.Secret)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.secret (key %q): not valid base64", p, key.Name))
			continue
		}
		tr, err := k.make(secret)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.secret (key %q): %d bytes, %s needs %s", p, key.Name, len(secret), k.name, k.size))
			continue
		}
		out = append(out, value.Prefixed{Prefix: value.Prefix(k.name, key.Name), Transformer: tr})
		keyNames = append(keyNames, key.Name)
	}
	if len(errs) > 0 {
		return nil, k.name, nil, errs
	}
	return out, k.name, keyNames, nil
}

// TransformerFor returns the transformer of a resource of group ("" for
// the core group), nil when no entry covers it: its values are stored as
// they are.
func (c *Config) TransformerFor(group, resource string) value.Transformer {
	if r := c.rule(group, resource); r != nil {
		return r.chain
	}
	return nil
}

// Writer names the provider and key that writes a resource's values, e.g.
// "aesgcm:key2" or "identity"; "" when no entry covers it.
func (c *Config) Writer(group, resource string) string {
	if r := c.rule(group, resource); r != nil {
		return r.writer
	}
	return ""
}

func (c *Config) rule(group, resource string) *rule {
	if c == nil {
		return nil
	}
	want := resourceName{resource: resource, group: group}
	for i := range c.rules {
		for _, n := range c.rules[i].resources {
			if n.covers(want) {
				return &c.rules[i]
			}
		}
	}
	return nil
}
