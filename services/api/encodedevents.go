package api

import (
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// encodedEvents keeps the latest watch events in their wire form, so an
// event the watch cache hands every watcher (the same object, not a
// copy) is encoded once, not once per watcher. An entry is found by the
// object itself (pointer identity: a cached object never changes, and
// the entry holds it, so no other object can take its address), the
// event type, the response message and the field the object goes in
// (object, or its metadata alone).
type encodedEvents struct {
	mu      sync.Mutex
	entries map[encodedKey]*encodedEvent
	bytes   int // encoded bytes held
}

type encodedKey struct {
	obj   proto.Message
	typ   string
	resp  protoreflect.FullName
	field protoreflect.Name
}

type encodedEvent struct {
	once sync.Once
	b    []byte
	err  error
}

// The bounds of what encodedEvents holds: every watcher of an event asks
// for it within moments of each other, so a few hundred recent events
// are plenty; past either bound it starts again empty.
const (
	maxEncodedEvents = 512
	maxEncodedBytes  = 16 << 20
)

func newEncodedEvents() *encodedEvents {
	return &encodedEvents{entries: make(map[encodedKey]*encodedEvent)}
}

// get returns k's encoding, calling encode once for all who ask for the
// same k at the same time.
func (e *encodedEvents) get(k encodedKey, encode func() ([]byte, error)) ([]byte, error) {
	e.mu.Lock()
	ent, ok := e.entries[k]
	if !ok {
		if len(e.entries) >= maxEncodedEvents || e.bytes >= maxEncodedBytes {
			clear(e.entries)
			e.bytes = 0
		}
		ent = &encodedEvent{}
		e.entries[k] = ent
	}
	e.mu.Unlock()
	ent.once.Do(func() {
		ent.b, ent.err = encode()
		e.mu.Lock()
		e.bytes += len(ent.b)
		e.mu.Unlock()
	})
	return ent.b, ent.err
}
