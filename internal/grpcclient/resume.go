package grpcclient

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"
)

// resumer keeps a watch stream (a server-streaming Watch* call with a
// resource_version) going across the loss of its backend: when the
// stream breaks with Unavailable, it opens the same watch on another
// backend from the resourceVersion of the last event it delivered, so
// the caller sees every event once, in order, and no break.
//
// Only a watch that started from a resourceVersion is resumed: one from
// "" or "0" begins with the current state as synthetic ADDED events,
// which are not in resourceVersion order, so a break there ends the
// stream and its client lists again (client-go's reflector watches from
// the list's resourceVersion, which resumes).
type resumer struct {
	attempts int
	log      *slog.Logger
}

func (r resumer) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil || !desc.ServerStreams || desc.ClientStreams || !strings.HasPrefix(methodName(method), "Watch") {
		return cs, err
	}
	return &resumingStream{ClientStream: cs, r: r, ctx: ctx, desc: desc, cc: cc, method: method, streamer: streamer, opts: opts, start: time.Now()}, nil
}

type resumingStream struct {
	grpc.ClientStream
	r        resumer
	ctx      context.Context
	desc     *grpc.StreamDesc
	cc       *grpc.ClientConn
	method   string
	streamer grpc.Streamer
	opts     []grpc.CallOption
	start    time.Time

	// sent is the request; req is sent when it can be resumed once
	// events have come, else nil.
	sent, req proto.Message
	lastRV    string
	// readyBy ends the wait for a connected backend of one break.
	readyBy time.Time
}

// SendMsg records the request (a server-streaming call sends one).
func (s *resumingStream) SendMsg(m any) error {
	if pm, ok := m.(proto.Message); ok {
		s.sent = proto.Clone(pm)
		if resumable(pm) {
			s.req = s.sent
			s.lastRV = stringFieldOf(s.req.ProtoReflect(), "resource_version")
		}
	}
	return s.ClientStream.SendMsg(m)
}

// Header is the stream's header; a stream that ended before it began
// (no header: a replica that was stopping) is opened again with the same
// request on another backend, whatever its resourceVersion: nothing has
// been delivered yet.
func (s *resumingStream) Header() (metadata.MD, error) {
	for tries := 1; ; tries++ {
		md, err := s.ClientStream.Header()
		if md != nil || err != nil || s.sent == nil || s.ctx.Err() != nil || tries > s.r.attempts {
			return md, err
		}
		// Ended: RecvMsg decodes nothing and returns its status, and
		// returns it again to whoever asks next.
		if rerr := s.ClientStream.RecvMsg(&emptypb.Empty{}); status.Code(rerr) != codes.Unavailable {
			return md, err
		}
		if !s.wait(tries) {
			return md, err
		}
		s.r.log.Debug("watch stream ended before it began: opening it on another backend", "method", s.method)
		cs, serr := s.reopen(proto.Clone(s.sent))
		if serr != nil {
			return md, err
		}
		s.ClientStream = cs
	}
}

// wait pauses before the n-th try of one break (n from 1), then waits
// within readyBudget for a backend to be connected; false when the
// caller has gone.
func (s *resumingStream) wait(n int) bool {
	if n == 1 {
		s.readyBy = time.Now().Add(readyBudget)
	}
	t := time.NewTimer(retryWait(n))
	defer t.Stop()
	select {
	case <-s.ctx.Done():
		return false
	case <-t.C:
	}
	waitReady(s.ctx, s.cc, s.readyBy)
	return s.ctx.Err() == nil
}

// reopen opens the watch again with req.
func (s *resumingStream) reopen(req proto.Message) (grpc.ClientStream, error) {
	cs, err := s.streamer(s.ctx, s.desc, s.cc, s.method, s.opts...)
	if err != nil {
		return nil, err
	}
	if err := cs.SendMsg(req); err != nil {
		return nil, err
	}
	if err := cs.CloseSend(); err != nil {
		return nil, err
	}
	return cs, nil
}

func resumable(req proto.Message) bool {
	r := req.ProtoReflect()
	f := r.Descriptor().Fields().ByName("resource_version")
	if f == nil || f.Kind() != protoreflect.StringKind {
		return false
	}
	if rv := r.Get(f).String(); rv == "" || rv == "0" {
		return false
	}
	if sie := r.Descriptor().Fields().ByName("send_initial_events"); sie != nil && r.Has(sie) && r.Get(sie).Bool() {
		return false
	}
	return true
}

func (s *resumingStream) RecvMsg(m any) error {
	tries := 0
	for {
		err := s.ClientStream.RecvMsg(m)
		if err == nil {
			s.note(m)
			return nil
		}
		if s.req == nil || status.Code(err) != codes.Unavailable || s.ctx.Err() != nil || tries >= s.r.attempts {
			return err
		}
		tries++
		if !s.wait(tries) {
			return err
		}
		next := proto.Clone(s.req)
		r := next.ProtoReflect()
		r.Set(r.Descriptor().Fields().ByName("resource_version"), protoreflect.ValueOfString(s.lastRV))
		if f := r.Descriptor().Fields().ByName("timeout_seconds"); f != nil && f.Kind() == protoreflect.Int64Kind && r.Get(f).Int() > 0 {
			left := r.Get(f).Int() - int64(time.Since(s.start)/time.Second)
			if left < 1 {
				// The watch's own time is up: it ends as it would have.
				return io.EOF
			}
			r.Set(f, protoreflect.ValueOfInt64(left))
		}
		s.r.log.Debug("watch stream broke: resuming on another backend", "method", s.method, "resourceVersion", s.lastRV, "error", err)
		cs, serr := s.reopen(next)
		if serr != nil {
			continue
		}
		s.ClientStream = cs
	}
}

// note remembers the resourceVersion of a delivered event (BOOKMARKs
// included, ERROR events not: they carry a Status).
func (s *resumingStream) note(m any) {
	if s.req == nil {
		return
	}
	pm, ok := m.(proto.Message)
	if !ok {
		return
	}
	r := pm.ProtoReflect()
	if stringFieldOf(r, "type") == "ERROR" {
		return
	}
	if rv := eventResourceVersion(r); rv != "" {
		s.lastRV = rv
	}
}

// eventResourceVersion is the metadata.resource_version of the first set
// message field of an event that has metadata (the object, or the
// partial object metadata).
func eventResourceVersion(ev protoreflect.Message) string {
	fields := ev.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() != protoreflect.MessageKind || f.IsList() || f.IsMap() || !ev.Has(f) {
			continue
		}
		obj := ev.Get(f).Message()
		mdf := obj.Descriptor().Fields().ByName("metadata")
		if mdf == nil || mdf.Kind() != protoreflect.MessageKind || mdf.IsList() {
			continue
		}
		if rv := stringFieldOf(obj.Get(mdf).Message(), "resource_version"); rv != "" {
			return rv
		}
	}
	return ""
}
