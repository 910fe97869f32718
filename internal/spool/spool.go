// Package spool is a durable queue of records in a local directory, made
// for events that must not be lost but are stored elsewhere later (the
// audit trail, internal/auditlog).
//
// Writers call Append, which returns only once the record is on disk:
// written and fsync'd. Appends that arrive together are written and
// fsync'd together by one goroutine (group commit), so under load one
// fsync serves many records. Append never waits longer than Options.Wait
// for that: a record not durable by then is refused with ErrTimeout and,
// if it was not yet being written, taken out of the queue.
//
// One reader (Read) takes the records in the order they were appended,
// only ever those already durable, and reports how far it has come with
// Commit, which saves a checkpoint and deletes the files it has passed.
// Every record has a Key that no other record of any spool has, and that
// it keeps when it is read again after a restart: a consumer makes
// redelivery harmless by storing the key with a unique constraint.
//
// # On disk
//
// The directory holds segment files, named by their sequence number
// (0000000000000001.seg, ...), a checkpoint file and a lock file. A
// segment starts with a 32-byte header (a magic string, a random 16-byte
// segment id, a CRC32C) and is followed by frames: a 4-byte length, a
// 4-byte CRC32C (Castagnoli) of the length and the payload, the payload.
// New frames go to the last segment; a new one is started when it has
// grown past Options.SegmentBytes, and on every Open (so that a spool
// restored from a backup never gives a new record an old record's key).
//
// After a crash the last frames may be torn (half written, or written but
// not fsync'd). Open reads every segment, checks every frame's checksum
// and cuts each file after its last good frame; nothing cut was ever
// acknowledged.
//
// # Bounds
//
// The segment files together may hold Options.MaxBytes. An Append that
// would pass it is refused with ErrFull, and so is every Append after it
// until the reader has committed enough for the files to shrink to 90 % of
// the cap. Health reports that state, and a failing disk, for readiness.
package spool

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Errors of Append; test with errors.Is.
var (
	// ErrFull is an Append refused because the spool holds its cap.
	ErrFull = errors.New("spool full")
	// ErrTimeout is an Append whose record was not durable within
	// Options.Wait. The record may still become durable if it was being
	// written when the time ran out; otherwise it was withdrawn.
	ErrTimeout = errors.New("record not durable in time")
	// ErrClosed is an Append or Read after Close.
	ErrClosed = errors.New("spool closed")
	// ErrTooLarge is a record longer than MaxRecord.
	ErrTooLarge = errors.New("record too large")
)

// MaxRecord is the longest record Append takes.
const MaxRecord = 4 << 20

// DefaultWait is Options.Wait's default: how long Append waits at most.
const DefaultWait = 100 * time.Millisecond

// Options configure a spool.
type Options struct {
	// Dir is the spool's directory, created (0700) if missing. Only one
	// process may have it open: Open takes a lock on it.
	Dir string
	// MaxBytes caps the segment files together.
	MaxBytes int64
	// SegmentBytes is the size past which a new segment is started; 0:
	// an eighth of MaxBytes, between 64 KiB and 64 MiB.
	SegmentBytes int64
	// Wait is the longest an Append waits for its record to be durable;
	// 0: DefaultWait.
	Wait time.Duration
	// Log receives what Open repaired and what failed in the background;
	// nil: discard.
	Log *slog.Logger
	// Rand draws the segments' ids; nil: crypto/rand.
	Rand io.Reader
	// ProbeInterval is how often, while writes fail, the spool tries a
	// write of its own so that Health turns healthy again without
	// waiting for an Append; 0: a second.
	ProbeInterval time.Duration
	// Linger is the longest a write waits for more records while several
	// callers append at once, so that one fsync carries more of them
	// (an fsync costs far more CPU than the write); 0: DefaultLinger,
	// negative: never. A write waits only while the last 16 writes saw
	// more than one caller waiting, and only until as many records wait
	// as callers did then: a lone caller does not wait for it.
	Linger time.Duration
}

// DefaultLinger is Options.Linger's default.
const DefaultLinger = 2 * time.Millisecond

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Spool is an open spool. Append may be called from any goroutine; Read
// and Commit from one reader goroutine.
type Spool struct {
	dir      string
	max      int64
	segBytes int64
	wait     time.Duration
	probe    time.Duration
	linger   time.Duration
	log      *slog.Logger
	rand     io.Reader
	lock     *os.File

	mu      sync.Mutex
	cur     *batch // the batch Appends join; the committer takes it
	pending int64  // bytes of cur's live frames
	nlive   int    // cur's live frames
	// waiters holds, for each of the last writes, how many Appends
	// waited when it ended (those it answered and those waiting for the
	// next): how many callers append at once.
	waiters [16]int
	wi      int
	size    int64      // bytes of the segment files (durable frames and headers)
	segs    []*segment // oldest first; the last is the one written to
	full    bool       // refusing Appends until size falls to 90 % of max
	failing error      // the last write or fsync failed with this
	closed  bool
	changed chan struct{} // closed, and replaced, when frames became durable

	active    *os.File       // the last segment, for writing; the committer's alone
	writes    int64          // batches written
	records   int64          // records they carried
	spare     *spare         // the next segment, made ahead
	preparing bool           // a goroutine makes it
	prep      sync.WaitGroup // that goroutine
	// beforeWrite, set by tests, runs before each batch is written.
	beforeWrite func()
	kick        chan struct{}
	stop        chan struct{}
	done        chan struct{}
	wbuf        []byte

	// the reader's
	cp    Position
	ckpt  *os.File
	rseq  uint64
	rfile *os.File
	rbuf  []byte
}

// segment is one segment file.
type segment struct {
	seq  uint64
	id   string // base64url of the header's random id
	size int64  // durable bytes: the header and whole frames
}

// batch is the frames of the Appends that wait for one write.
type batch struct {
	frames [][]byte // nil: withdrawn by an Append that gave up
	done   chan struct{}
	err    error
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

// Append writes rec and returns once it is durable, or an error: ErrFull,
// ErrTimeout, ErrClosed, ErrTooLarge, or the error with which writing or
// fsyncing the segment failed. It never waits longer than Options.Wait.
func (s *Spool) Append(rec []byte) error {
	if len(rec) > MaxRecord {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(rec), MaxRecord)
	}
	f := frame(rec)
	n := int64(len(f))
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.full && s.size+s.pending <= s.max/10*9 {
		s.full = false
	}
	if s.full || s.size+s.pending+n > s.max {
		s.full = true
		size := s.size + s.pending
		s.mu.Unlock()
		return fmt.Errorf("%w: %d of %d bytes hold records not yet taken", ErrFull, size, s.max)
	}
	b := s.cur
	i := len(b.frames)
	b.frames = append(b.frames, f)
	s.pending += n
	s.nlive++
	s.mu.Unlock()

	select {
	case s.kick <- struct{}{}:
	default:
	}
	t := time.NewTimer(s.wait)
	select {
	case <-b.done:
		t.Stop()
		return b.err
	case <-t.C:
	}
	s.mu.Lock()
	withdrawn := s.cur == b
	if withdrawn {
		b.frames[i] = nil
		s.pending -= n
		s.nlive--
	}
	s.mu.Unlock()
	if withdrawn {
		return fmt.Errorf("%w: waited %v", ErrTimeout, s.wait)
	}
	// Being written: it may still become durable, but the caller cannot
	// wait for it.
	return fmt.Errorf("%w: waited %v, still being written", ErrTimeout, s.wait)
}

// Health is nil while Appends are taken, or says why they are not: the
// spool holds its cap, or writing to it fails.
func (s *Spool) Health() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.full && s.size+s.pending > s.max/10*9:
		return fmt.Errorf("%w: %d of %d bytes in %s wait to be taken", ErrFull, s.size+s.pending, s.max, s.dir)
	case s.failing != nil:
		return fmt.Errorf("spool %s cannot be written: %w", s.dir, s.failing)
	}
	return nil
}

// Stats are counts since Open: the writes (each one fsync) and the
// records they made durable.
type Stats struct {
	Writes, Records int64
}

// Stats returns the counts since Open.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Writes: s.writes, Records: s.records}
}

// Size is the bytes the segment files hold.
func (s *Spool) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Close writes what Appends handed over before it, stops taking more,
// and closes the files. A Read waiting for records returns ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.prep.Wait()
	if s.spare != nil {
		s.spare.f.Close() // an empty segment: the next Open reads past it
	}
	s.mu.Lock()
	close(s.changed) // wakes a waiting Read, which then sees closed
	s.changed = make(chan struct{})
	s.mu.Unlock()
	err := s.active.Close()
	for _, f := range []*os.File{s.ckpt, s.rfile} {
		if f != nil {
			f.Close()
		}
	}
	unlock(s.lock)
	return err
}

// commitLoop is the one goroutine that writes: it takes the batch that
// Appends joined, writes its frames at the end of the last segment, fsyncs
// them and answers every Append of the batch. While a write failed it
// probes the disk now and then.
func (s *Spool) commitLoop() {
	defer close(s.done)
	probe := time.NewTicker(s.probe)
	defer probe.Stop()
	for {
		stopping := false
		select {
		case <-s.kick:
			s.gather()
		case <-s.stop:
			stopping = true
		case <-probe.C:
			s.mu.Lock()
			failing := s.failing != nil
			s.mu.Unlock()
			if failing {
				s.tryProbe()
			}
			continue
		}
		s.commitBatch()
		if stopping {
			return
		}
	}
}

// gather lets a batch grow before it is written while several callers
// append at once: it waits, at most the linger, until the batch holds as
// many records as callers waited at once lately. A lone caller (every
// write answered one Append, and none was waiting) never waits.
func (s *Spool) gather() {
	if s.linger <= 0 {
		return
	}
	s.mu.Lock()
	target := 0
	for _, w := range s.waiters {
		target = max(target, w)
	}
	n := s.nlive
	s.mu.Unlock()
	if target <= 1 || n >= target {
		return
	}
	t := time.NewTimer(s.linger)
	defer t.Stop()
	for n < target {
		select {
		case <-s.kick: // another Append
		case <-t.C:
			return
		case <-s.stop:
			return
		}
		s.mu.Lock()
		n = s.nlive
		s.mu.Unlock()
	}
}

// commitBatch writes and fsyncs the waiting batch.
func (s *Spool) commitBatch() {
	s.mu.Lock()
	b := s.cur
	s.cur = newBatch()
	s.pending = 0
	written := s.nlive
	s.nlive = 0
	seg := s.segs[len(s.segs)-1]
	hook := s.beforeWrite
	s.mu.Unlock()

	s.wbuf = s.wbuf[:0]
	for _, f := range b.frames {
		s.wbuf = append(s.wbuf, f...)
	}
	if len(s.wbuf) == 0 {
		close(b.done)
		return
	}
	if hook != nil {
		hook()
	}
	err := s.write(seg, s.wbuf)
	s.mu.Lock()
	s.writes++
	if err == nil {
		s.records += int64(written)
	}
	s.waiters[s.wi] = written + s.nlive
	s.wi = (s.wi + 1) % len(s.waiters)
	if err == nil {
		seg.size += int64(len(s.wbuf))
		s.size += int64(len(s.wbuf))
		s.failing = nil
		close(s.changed)
		s.changed = make(chan struct{})
	} else {
		if s.failing == nil {
			s.log.Error("spool write failed; appends fail until it works again", "dir", s.dir, "err", err)
		}
		s.failing = err
	}
	s.mu.Unlock()
	b.err = err
	close(b.done)
	if err == nil {
		s.prepareNext(seg)
	}
	if err == nil && seg.size >= s.segBytes {
		if err := s.rotate(); err != nil {
			s.log.Error("start a new spool segment; the current one grows on", "dir", s.dir, "err", err)
		}
	}
}

// write appends p to seg and fsyncs it; on failure it cuts the segment
// back to where it was, so that a torn write is never followed by a good
// one.
func (s *Spool) write(seg *segment, p []byte) error {
	_, err := s.active.WriteAt(p, seg.size)
	if err == nil {
		err = s.active.Sync()
	}
	if err != nil {
		if terr := s.active.Truncate(seg.size); terr != nil {
			err = errors.Join(err, fmt.Errorf("cut back: %w", terr))
		}
		return fmt.Errorf("write %s: %w", segPath(s.dir, seg.seq), err)
	}
	return nil
}

// tryProbe writes 4 KiB of zeros at the end of the last segment, fsyncs
// and cuts them off again: success means writes work again. Zeros left
// by a crash are no valid frame, and Open cuts them.
func (s *Spool) tryProbe() {
	s.mu.Lock()
	seg := s.segs[len(s.segs)-1]
	s.mu.Unlock()
	if err := s.write(seg, make([]byte, 4096)); err != nil {
		return
	}
	if err := s.active.Truncate(seg.size); err != nil {
		return
	}
	s.mu.Lock()
	s.failing = nil
	s.mu.Unlock()
	s.log.Info("spool writable again", "dir", s.dir)
}
