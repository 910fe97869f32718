package spool

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// Position is a place in the spool: a segment's sequence number and a
// byte offset in it.
type Position struct {
	Segment uint64
	Offset  int64
}

// Record is a record as Read returns it.
type Record struct {
	// Data is the record; it is valid until the next Read.
	Data []byte
	// Key names this record and no other, in any spool, and stays the
	// same when the record is read again (after a restart, before a
	// Commit): its segment's random id and its offset.
	Key string
}

// checkpointMagic starts the checkpoint file: the magic (4 bytes), the
// position (8 + 8) and a CRC32C of those (4).
const (
	checkpointMagic = "GHCK"
	checkpointSize  = 24
	readChunk       = 1 << 20
)

// openCheckpoint opens (or makes) the checkpoint file and reads the
// position in it; ok is false when there is none or it is not valid.
func (s *Spool) openCheckpoint() (Position, bool, error) {
	f, err := os.OpenFile(filepath.Join(s.dir, "checkpoint"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return Position{}, false, err
	}
	s.ckpt = f
	b := make([]byte, checkpointSize)
	n, err := f.ReadAt(b, 0)
	if err != nil && err != io.EOF {
		return Position{}, false, err
	}
	if n == 0 {
		return Position{}, false, nil
	}
	if n < checkpointSize || string(b[:4]) != checkpointMagic ||
		binary.LittleEndian.Uint32(b[20:]) != crc32.Checksum(b[:20], castagnoli) {
		s.log.Warn("spool checkpoint is damaged; reading from the oldest segment (records already delivered come again, with their keys)",
			"file", f.Name())
		return Position{}, false, nil
	}
	return Position{Segment: binary.LittleEndian.Uint64(b[4:]), Offset: int64(binary.LittleEndian.Uint64(b[12:]))}, true, nil
}

// start is where reading begins: the checkpoint when it names a place in
// the segments, else the start of the oldest segment (the segments before
// the checkpoint may have been deleted after a checkpoint that a crash
// lost: they were delivered).
func (s *Spool) start(cp Position, ok bool) Position {
	first := Position{Segment: s.segs[0].seq, Offset: headerSize}
	if !ok {
		return first
	}
	for _, seg := range s.segs {
		if seg.seq == cp.Segment && cp.Offset >= headerSize && cp.Offset <= seg.size {
			return cp
		}
	}
	if cp.Segment >= s.segs[0].seq {
		s.log.Warn("spool checkpoint names no place in the segments; reading from the oldest", "checkpoint", cp)
	}
	return first
}

// Checkpoint is where the reader starts: the last position committed, or
// the start of the oldest segment.
func (s *Spool) Checkpoint() Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp
}

// Read returns up to limit durable records from position from on, and the
// position after them. When none is there yet it waits for one, until ctx
// ends (ctx.Err()) or the spool is closed (ErrClosed). A frame found
// damaged on the way (disk corruption; torn frames were cut by Open) is
// logged and the rest of its segment skipped.
func (s *Spool) Read(ctx context.Context, from Position, limit int) ([]Record, Position, error) {
	return s.read(ctx, from, limit, true)
}

// ReadNow is Read that does not wait: with no record durable after from
// it returns none.
func (s *Spool) ReadNow(from Position, limit int) ([]Record, Position, error) {
	return s.read(context.Background(), from, limit, false)
}

func (s *Spool) read(ctx context.Context, from Position, limit int, wait bool) ([]Record, Position, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, from, ErrClosed
		}
		i := s.find(from.Segment)
		switch {
		case i < 0 && from.Segment < s.segs[0].seq:
			from, i = Position{Segment: s.segs[0].seq, Offset: headerSize}, 0
		case i < 0:
			s.mu.Unlock()
			return nil, from, fmt.Errorf("spool: read from %v: no such segment", from)
		}
		seg, last := s.segs[i], i == len(s.segs)-1
		if from.Offset >= seg.size {
			if !last {
				from = Position{Segment: s.segs[i+1].seq, Offset: headerSize}
				s.mu.Unlock()
				continue
			}
			ch := s.changed
			s.mu.Unlock()
			if !wait {
				return nil, from, nil
			}
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, from, ctx.Err()
			}
		}
		avail := seg.size - from.Offset
		s.mu.Unlock()
		return s.readFrames(seg, from, avail, limit)
	}
}

// find is the index of segment seq in s.segs, or -1.
func (s *Spool) find(seq uint64) int {
	for i, seg := range s.segs {
		if seg.seq == seq {
			return i
		}
	}
	return -1
}

// readFrames reads up to limit frames of seg from from, within the avail
// durable bytes there.
func (s *Spool) readFrames(seg *segment, from Position, avail int64, limit int) ([]Record, Position, error) {
	if s.rfile == nil || s.rseq != seg.seq {
		if s.rfile != nil {
			s.rfile.Close()
		}
		f, err := os.Open(segPath(s.dir, seg.seq))
		if err != nil {
			s.rfile = nil
			return nil, from, fmt.Errorf("spool: %w", err)
		}
		s.rfile, s.rseq = f, seg.seq
	}
	n := min(avail, readChunk)
	for {
		if int64(cap(s.rbuf)) < n {
			s.rbuf = make([]byte, n)
		}
		buf := s.rbuf[:n]
		if _, err := s.rfile.ReadAt(buf, from.Offset); err != nil {
			return nil, from, fmt.Errorf("spool: read %s: %w", s.rfile.Name(), err)
		}
		var recs []Record
		off := 0
		for len(recs) < limit {
			rec, size, ok, bad := parseFrame(buf[off:])
			if !ok && off == 0 && (size == 0 || int64(size) > avail) {
				bad = true // durable bytes always hold whole frames
			}
			if bad {
				s.log.Error("spool segment has a damaged frame; the rest of the segment is skipped",
					"file", s.rfile.Name(), "offset", from.Offset+int64(off), "skipped", avail-int64(off))
				return recs, Position{Segment: seg.seq, Offset: from.Offset + avail}, nil
			}
			if !ok {
				if off == 0 {
					break // one frame longer than the chunk: read it whole
				}
				return recs, Position{Segment: seg.seq, Offset: from.Offset + int64(off)}, nil
			}
			recs = append(recs, Record{Data: rec, Key: seg.key(from.Offset + int64(off))})
			off += size
		}
		if len(recs) > 0 || off > 0 {
			return recs, Position{Segment: seg.seq, Offset: from.Offset + int64(off)}, nil
		}
		_, size, _, _ := parseFrame(buf)
		n = int64(size)
	}
}

// Commit records that the reader is done with everything before p: it
// saves p as the checkpoint and deletes the segments wholly before it.
// The checkpoint is written but not fsync'd: a checkpoint lost in a crash
// only makes Read deliver some records again, with their keys.
func (s *Spool) Commit(p Position) error {
	b := make([]byte, checkpointSize)
	copy(b, checkpointMagic)
	binary.LittleEndian.PutUint64(b[4:], p.Segment)
	binary.LittleEndian.PutUint64(b[12:], uint64(p.Offset))
	binary.LittleEndian.PutUint32(b[20:], crc32.Checksum(b[:20], castagnoli))
	if _, err := s.ckpt.WriteAt(b, 0); err != nil {
		return fmt.Errorf("spool: save checkpoint: %w", err)
	}
	s.mu.Lock()
	s.cp = p
	var done []*segment
	for len(s.segs) > 1 && s.segs[0].seq < p.Segment {
		done = append(done, s.segs[0])
		s.segs = s.segs[1:]
	}
	s.mu.Unlock()
	var err error
	for _, seg := range done {
		if s.rfile != nil && s.rseq == seg.seq {
			s.rfile.Close()
			s.rfile = nil
		}
		if rerr := os.Remove(segPath(s.dir, seg.seq)); rerr != nil {
			if err == nil {
				err = fmt.Errorf("spool: delete a segment read to its end (Open reads it again): %w", rerr)
			}
			continue
		}
		s.mu.Lock()
		s.size -= seg.size
		s.mu.Unlock()
	}
	return err
}
