// Package tokenfile authenticates bearer tokens listed in a static CSV file,
// kube-apiserver's --token-auth-file format:
//
//	token,user,uid,"group1,group2,group3"
//
// At least three columns; the fourth, optional, is a comma-separated group
// list (quoted when it holds several). Blank lines are skipped. A later line
// with the same token replaces the earlier one (reported as a warning).
package tokenfile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/portico-dev/portico/internal/identity"
	authnv1 "github.com/portico-dev/portico/proto/portico/authn/v1"
	"github.com/portico-dev/portico/services/authn/authenticator"
)

// Method is the authenticator name in responses.
const Method = "token-file"

// MaxFileBytes bounds the token file.
const MaxFileBytes = 16 << 20

type entry struct {
	token []byte
	user  *authnv1.UserInfo
}

// Tokens is a parsed token file. The zero value holds no tokens.
type Tokens struct {
	byHash map[[32]byte]entry
	// Warnings are the non-fatal findings of parsing (duplicates), one per line.
	Warnings []string
}

// Len is the number of distinct tokens.
func (t *Tokens) Len() int { return len(t.byHash) }

// ReadFile parses the token file at path once.
func ReadFile(path string) (*Tokens, error) {
	_, data, err := (&File{path: path}).read()
	if err != nil {
		return nil, err
	}
	return parseFile(path, data)
}

// Parse parses token file content. An error names the line at fault and
// never contains a token.
func Parse(data []byte) (*Tokens, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	t := &Tokens{byHash: map[[32]byte]entry{}}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("line %d: malformed CSV: %v", pe.StartLine, pe.Err)
			}
			return nil, fmt.Errorf("malformed CSV: %w", err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) < 3 {
			return nil, fmt.Errorf("line %d: want at least 3 columns (token,user,uid), got %d", line, len(rec))
		}
		token, name := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if token == "" {
			return nil, fmt.Errorf("line %d: empty token", line)
		}
		if name == "" {
			return nil, fmt.Errorf("line %d: empty user name", line)
		}
		u := &authnv1.UserInfo{Username: name, Uid: strings.TrimSpace(rec[2])}
		if len(rec) >= 4 {
			for _, g := range strings.Split(rec[3], ",") {
				if g = strings.TrimSpace(g); g != "" {
					u.Groups = append(u.Groups, g)
				}
			}
		}
		if name, ok := identity.ClaimsReserved(u); ok {
			t.Warnings = append(t.Warnings, fmt.Sprintf("line %d: user %q claims the reserved name %q; its token will be refused", line, u.GetUsername(), name))
		}
		h := sha256.Sum256([]byte(token))
		if prev, dup := t.byHash[h]; dup {
			t.Warnings = append(t.Warnings, fmt.Sprintf("line %d: duplicate token (also user %q); this line wins", line, prev.user.GetUsername()))
		}
		t.byHash[h] = entry{token: []byte(token), user: u}
	}
}

// AuthenticateToken returns the token's user. The lookup is by SHA-256 of
// the token and the match is confirmed in constant time. Static tokens are
// not audience-aware: audiences are ignored.
func (t *Tokens) AuthenticateToken(_ context.Context, token string, _ []string) (*authenticator.Response, bool, error) {
	if t == nil {
		return nil, false, nil
	}
	e, ok := t.byHash[sha256.Sum256([]byte(token))]
	if !ok || subtle.ConstantTimeCompare(e.token, []byte(token)) != 1 {
		return nil, false, nil
	}
	return &authenticator.Response{User: e.user, Method: Method}, true, nil
}
