package etcd

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestClassify(t *testing.T) {
	tests := map[string]struct {
		err             error
		wantUnavailable bool
	}{
		"nil":                   {err: nil},
		"no leader":             {err: rpctypes.ErrGRPCNoLeader, wantUnavailable: true},
		"request timed out":     {err: rpctypes.ErrGRPCTimeout, wantUnavailable: true},
		"leader changed":        {err: rpctypes.ErrGRPCLeaderChanged, wantUnavailable: true},
		"timeout, leader fail":  {err: rpctypes.ErrGRPCTimeoutDueToLeaderFail, wantUnavailable: true},
		"no member reachable":   {err: status.Error(codes.Unavailable, "connection refused"), wantUnavailable: true},
		"deadline":              {err: status.Error(codes.DeadlineExceeded, "context deadline exceeded"), wantUnavailable: true},
		"wrapped":               {err: fmt.Errorf("get: %w", rpctypes.ErrGRPCNoLeader), wantUnavailable: true},
		"compacted":             {err: rpctypes.ErrGRPCCompacted},
		"permission denied":     {err: rpctypes.ErrGRPCPermissionDenied},
		"caller cancelled":      {err: context.Canceled},
		"caller cancelled grpc": {err: status.Error(codes.Canceled, "context canceled")},
		"other":                 {err: errors.New("boom")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := classify(tc.err)
			var u *UnavailableError
			if errors.As(got, &u) != tc.wantUnavailable {
				t.Fatalf("classify(%v) = %v, want unavailable %v", tc.err, got, tc.wantUnavailable)
			}
			if tc.wantUnavailable && (!errors.Is(got, context.DeadlineExceeded) || !errors.Is(got, tc.err)) {
				t.Fatalf("classify(%v) = %v: not DeadlineExceeded and its cause", tc.err, got)
			}
			if !tc.wantUnavailable && got != tc.err {
				t.Fatalf("classify(%v) = %v, want it unchanged", tc.err, got)
			}
		})
	}
}
