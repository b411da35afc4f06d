package etcd

import (
	"context"
	"log/slog"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// benign are warnings etcd always logs for our setup (one member on
// loopback, no etcd auth); they are demoted to debug.
var benign = map[string]bool{
	"Running http and grpc server on single port. This is not recommended for production.": true,
	"simple token is not cryptographically signed":                                         true,
}

// newZapLogger returns a zap logger that writes etcd's warnings and errors
// to l, so etcd's output joins ours instead of going to stderr as JSON.
// Once *closing is true everything is demoted to debug: etcd reports its
// listeners being closed during shutdown as errors. A nil l discards
// everything.
func newZapLogger(l *slog.Logger, component string, closing *atomic.Bool) *zap.Logger {
	if l == nil {
		return zap.NewNop()
	}
	if closing == nil {
		closing = new(atomic.Bool)
	}
	return zap.New(&slogCore{l: l.With("component", component), min: zapcore.WarnLevel, closing: closing})
}

// slogCore is a zapcore.Core writing to a slog.Logger.
type slogCore struct {
	l       *slog.Logger
	min     zapcore.Level
	closing *atomic.Bool
	fields  []zapcore.Field
}

func (c *slogCore) Enabled(lvl zapcore.Level) bool { return lvl >= c.min }

func (c *slogCore) With(fs []zapcore.Field) zapcore.Core {
	n := &slogCore{l: c.l, min: c.min, closing: c.closing}
	n.fields = append(append(n.fields, c.fields...), fs...)
	return n
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fs {
		f.AddTo(enc)
	}
	attrs := make([]slog.Attr, 0, len(enc.Fields)+1)
	if e.LoggerName != "" {
		attrs = append(attrs, slog.String("logger", e.LoggerName))
	}
	for k, v := range enc.Fields {
		attrs = append(attrs, slog.Any(k, v))
	}
	lvl := slogLevel(e.Level)
	if benign[e.Message] || c.closing.Load() {
		lvl = slog.LevelDebug
	}
	c.l.LogAttrs(context.Background(), lvl, e.Message, attrs...)
	return nil
}

func (c *slogCore) Sync() error { return nil }

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}
