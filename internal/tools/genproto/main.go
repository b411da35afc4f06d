// Command genproto generates Portico's resource protos from k8s.io/api's
// generated.proto files, so every field keeps the Kubernetes field number
// (a Kubernetes protobuf body decodes straight into Portico's messages) and
// the Kubernetes JSON name:
//
//   - proto/portico/core/v1/{meta,types,services}.proto and
//     proto/portico/rbac/v1/{types,services}.proto;
//   - proto/http.yaml, the grpc-gateway rules of every RPC;
//   - internal/resources/zz_generated.go, the table of served resources;
//   - gateway/zz_routes.go, the REST routes of every service of the table.
//
// Field names are the snake_case of the Kubernetes JSON names, with
// json_name where protoc's default differs (pod_ip, "podIP"). Which fields
// are proto3 optional (Go pointers to scalars) and which are written to
// JSON even when empty is read from the k8s.io/api Go types by reflection.
// meta/v1 Time becomes google.protobuf.Timestamp; MicroTime, IntOrString,
// Quantity and FieldsV1 are copied as k8s.io defines them.
//
// Each kind gets a <Kind>Service with Get, List, Create, Update, Patch,
// Delete, DeleteCollection (not for namespaces) and Watch RPCs, plus its
// subresources (GetPodStatus, CreatePodBinding, ...); cluster-scoped kinds
// have no namespace fields, the other field numbers stay.
// It runs offline: the k8s.io modules are found in the module cache with
// `go list -m` (or given with -api and -apimachinery). Run it from the
// repository root (go tool task generate does, before buf generate).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

func main() {
	var (
		out          = flag.String("out", ".", "repository root to write into")
		apiDir       = flag.String("api", "", "directory of the k8s.io/api module (default: from go list -m)")
		machineryDir = flag.String("apimachinery", "", "directory of the k8s.io/apimachinery module (default: from go list -m)")
	)
	flag.Parse()
	if err := run(*out, *apiDir, *machineryDir); err != nil {
		fmt.Fprintln(os.Stderr, "genproto:", err)
		os.Exit(1)
	}
}

func run(out, apiDir, machineryDir string) error {
	dirs, err := moduleDirs(map[string]string{"k8s.io/api": apiDir, "k8s.io/apimachinery": machineryDir})
	if err != nil {
		return err
	}
	files, err := generate(dirs)
	if err != nil {
		return err
	}
	for _, f := range files {
		path := filepath.Join(out, filepath.FromSlash(f.Path))
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, f.Data) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// module is a k8s.io module read.
type module struct {
	Path, Version, Dir string
}

// moduleDirs finds the modules not given, with go list -m (offline: the
// main module requires them, so they are in the module cache).
func moduleDirs(given map[string]string) (map[string]module, error) {
	mods := map[string]module{}
	var missing []string
	for path, dir := range given {
		if dir != "" {
			mods[path] = module{Path: path, Dir: dir}
		} else {
			missing = append(missing, path)
		}
	}
	if len(missing) == 0 {
		return mods, nil
	}
	cmd := exec.Command("go", append([]string{"list", "-m", "-json"}, missing...)...)
	cmd.Stderr = os.Stderr
	data, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m %v: %w", missing, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var m module
		if err := dec.Decode(&m); err != nil {
			return nil, err
		}
		if m.Dir == "" {
			return nil, fmt.Errorf("module %s@%s is not in the module cache (go mod download %s)", m.Path, m.Version, m.Path)
		}
		mods[m.Path] = m
	}
	for _, p := range missing {
		if _, ok := mods[p]; !ok {
			return nil, fmt.Errorf("go list -m found no %s", p)
		}
	}
	return mods, nil
}
