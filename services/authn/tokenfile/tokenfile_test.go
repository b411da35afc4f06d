package tokenfile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := map[string]struct {
		in       string
		wantErr  string
		token    string
		user     string
		uid      string
		groups   []string
		warnings int
	}{
		"three columns":         {in: "tok1,alice,1001\n", token: "tok1", user: "alice", uid: "1001"},
		"one group":             {in: "tok1,alice,1001,dev\n", token: "tok1", user: "alice", uid: "1001", groups: []string{"dev"}},
		"quoted groups":         {in: "tok1,alice,1001,\"dev,ops, qa\"\n", token: "tok1", user: "alice", uid: "1001", groups: []string{"dev", "ops", "qa"}},
		"blank lines":           {in: "\n\ntok1,alice,1001\n\n", token: "tok1", user: "alice", uid: "1001"},
		"duplicate last wins":   {in: "tok1,alice,1\ntok1,bob,2\n", token: "tok1", user: "bob", uid: "2", warnings: 1},
		"reserved group warned": {in: "tok1,m,1,system:portico:services\n", token: "tok1", user: "m", uid: "1", groups: []string{"system:portico:services"}, warnings: 1},
		"too few columns":       {in: "tok1,alice,1\ntok2,bob\n", wantErr: "line 2: want at least 3 columns"},
		"empty token":           {in: ",alice,1\n", wantErr: "line 1: empty token"},
		"empty user":            {in: "tok,,1\n", wantErr: "line 1: empty user name"},
		"bad quoting":           {in: "tok1,alice,1\ntok2,\"bob,2\n", wantErr: "line 2: malformed CSV"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			toks, err := Parse([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "tok1") || strings.Contains(err.Error(), "tok2") {
					t.Fatalf("error leaks a token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(toks.Warnings) != tc.warnings {
				t.Fatalf("warnings = %v, want %d", toks.Warnings, tc.warnings)
			}
			resp, ok, err := toks.AuthenticateToken(context.Background(), tc.token, nil)
			if err != nil || !ok {
				t.Fatalf("AuthenticateToken = %v, %v", ok, err)
			}
			u := resp.User
			if u.Username != tc.user || u.Uid != tc.uid || strings.Join(u.Groups, "|") != strings.Join(tc.groups, "|") {
				t.Fatalf("user = %+v", u)
			}
			if _, ok, _ := toks.AuthenticateToken(context.Background(), tc.token+"x", nil); ok {
				t.Fatal("a longer token authenticated")
			}
			if _, ok, _ := toks.AuthenticateToken(context.Background(), "", nil); ok {
				t.Fatal("the empty token authenticated")
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(p, []byte("s3cret,bob,42,\"a,b\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	toks, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if toks.Len() != 1 {
		t.Fatalf("Len = %d", toks.Len())
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a,b,c\n", "a,b,c,\"d,e\"\n", "\"\n", ",,,\n", "x,y\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		toks, err := Parse(data)
		if err != nil {
			return
		}
		for _, e := range toks.byHash {
			if r, ok, _ := toks.AuthenticateToken(context.Background(), string(e.token), nil); !ok || r.User.GetUsername() == "" {
				t.Fatalf("parsed token does not authenticate")
			}
		}
	})
}
