package auditlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// recordVersion is the first byte of every spooled event: the layout
// below. A layout change takes a new version, and decode keeps reading
// the old one, since a spool may outlive the binary that wrote it.
const recordVersion = 1

// encode appends e to b as version 1: the version byte, the time as a
// varint of Unix microseconds, then team, actor, action, target, IP and
// user agent, each a uvarint length and its bytes, then the count of
// detail pairs and each key and value likewise. EventID is not written:
// the spool position names the event (Batcher.Run).
func encode(b []byte, e store.AuditEvent) []byte {
	b = append(b, recordVersion)
	b = binary.AppendVarint(b, e.At.UnixMicro())
	for _, s := range [...]string{e.Team, e.Actor, e.Action, e.Target, e.IP, e.UserAgent} {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Detail)))
	for k, v := range e.Detail {
		b = appendString(appendString(b, k), v)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errRecord = errors.New("malformed audit record")

// decode reads a record that encode wrote. Its strings share one
// allocation.
func decode(rec []byte) (store.AuditEvent, error) {
	if len(rec) == 0 || rec[0] != recordVersion {
		return store.AuditEvent{}, fmt.Errorf("%w: version %v", errRecord, rec[:min(len(rec), 1)])
	}
	d := decoder{b: rec, s: string(rec), off: 1}
	var e store.AuditEvent
	at := d.varint()
	e.Team, e.Actor, e.Action, e.Target, e.IP, e.UserAgent = d.str(), d.str(), d.str(), d.str(), d.str(), d.str()
	if n := d.uvarint(); n > 0 && d.err == nil {
		if n > uint64(len(rec)) {
			return store.AuditEvent{}, fmt.Errorf("%w: %d detail pairs", errRecord, n)
		}
		e.Detail = make(map[string]string, n)
		for range n {
			k := d.str()
			e.Detail[k] = d.str()
		}
	}
	if d.err != nil || d.off != len(rec) {
		return store.AuditEvent{}, fmt.Errorf("%w: at byte %d of %d", errRecord, d.off, len(rec))
	}
	e.At = time.UnixMicro(at).UTC()
	return e, nil
}

// decoder reads from b, and takes strings from s, the same bytes.
type decoder struct {
	b   []byte
	s   string
	off int
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.err = errRecord
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.err = errRecord
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)-d.off) {
		d.err = errRecord
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}
