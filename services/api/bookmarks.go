package api

import "time"

// A watch with allowWatchBookmarks gets BOOKMARK events as from
// kube-apiserver's watch cache: about every interval, and one shortly
// before its timeoutSeconds ends so the client can resume from there. The
// revision comes from etcd: when one is due the watch asks for progress,
// and etcd answers (a storage Bookmark) once the watch has delivered every
// event up to its current revision. etcd does not answer while nothing
// has been written since the watch's start revision (or while another
// watch of the stream catches up), so a bookmark still unanswered after
// progressWait is sent at the last revision the watch has seen: every
// event up to it has been delivered.

const (
	// bookmarkBeforeTimeout is how long before a watch's deadline its
	// last bookmark is due (kube-apiserver's two seconds).
	bookmarkBeforeTimeout = 2 * time.Second
	// progressWait is how long a due bookmark waits for etcd's progress
	// notification (at most the interval).
	progressWait = time.Second
)

// nextBookmark is when the next bookmark is due after now: interval
// later, or bookmarkBeforeTimeout before the deadline when that is
// sooner; none when that time has passed.
func nextBookmark(now time.Time, interval time.Duration, deadline time.Time) (time.Time, bool) {
	next := now.Add(interval)
	if deadline.IsZero() {
		return next, true
	}
	if pre := deadline.Add(-bookmarkBeforeTimeout); pre.Before(next) {
		next = pre
	}
	if next.Before(now) {
		return time.Time{}, false
	}
	return next, true
}

// bookmarks is one watch's bookmark schedule; it is used by the watch's
// goroutine only.
type bookmarks struct {
	enabled  bool
	interval time.Duration
	deadline time.Time
	timer    *time.Timer
	armed    bool
	// pending: a bookmark is due and progress has been asked for.
	pending bool
	// last is the highest revision the watch has seen.
	last int64
}

// newBookmarks starts the schedule of a watch from revision from;
// deadline is zero for a watch without a timeout.
func newBookmarks(enabled bool, interval time.Duration, deadline time.Time, from int64) *bookmarks {
	b := &bookmarks{enabled: enabled, interval: interval, deadline: deadline, last: from}
	if enabled {
		b.schedule(time.Now())
	}
	return b
}

func (b *bookmarks) schedule(now time.Time) {
	at, ok := nextBookmark(now, b.interval, b.deadline)
	b.armed = ok
	if !ok {
		if b.timer != nil {
			b.timer.Stop()
		}
		return
	}
	if b.timer == nil {
		b.timer = time.NewTimer(at.Sub(now))
		return
	}
	b.timer.Reset(at.Sub(now))
}

// due fires when progress should be asked for; nil when no bookmark is
// to come.
func (b *bookmarks) due() <-chan time.Time {
	if !b.armed {
		return nil
	}
	return b.timer.C
}

// fired is called when due fires. The first time a bookmark is due it
// returns false: ask etcd for progress, and due fires again after
// progressWait unless the answer comes first. The second time it returns
// the revision of the bookmark to send now.
func (b *bookmarks) fired() (int64, bool) {
	if b.pending {
		b.pending = false
		b.schedule(time.Now())
		return b.last, true
	}
	b.pending = true
	b.timer.Reset(min(progressWait, b.interval))
	return 0, false
}

// seen records the revision of an event the watch received.
func (b *bookmarks) seen(rv int64) {
	b.last = max(b.last, rv)
}

// progress records that every event up to rv has been received, and
// returns the revision of the bookmark to send now, if one is due: never
// older than an event already seen.
func (b *bookmarks) progress(rv int64) (int64, bool) {
	b.seen(rv)
	if !b.enabled || !b.pending {
		return 0, false
	}
	b.pending = false
	b.schedule(time.Now())
	return b.last, true
}

func (b *bookmarks) stop() {
	if b.timer != nil {
		b.timer.Stop()
	}
}
