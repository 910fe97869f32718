package spool

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	frameHeader  = 8  // length and CRC32C, little endian
	headerSize   = 32 // magic (8), segment id (16), CRC32C (4), zero (4)
	segmentMagic = "GHSPOOL1"
	segExt       = ".seg"
)

// frame is rec with its header: length, and CRC32C of length and rec.
func frame(rec []byte) []byte {
	f := make([]byte, frameHeader+len(rec))
	binary.LittleEndian.PutUint32(f, uint32(len(rec)))
	copy(f[frameHeader:], rec)
	binary.LittleEndian.PutUint32(f[4:], frameCRC(f[:4], rec))
	return f
}

func frameCRC(length, rec []byte) uint32 {
	return crc32.Update(crc32.Checksum(length, castagnoli), castagnoli, rec)
}

// parseFrame reads the frame at the start of p: its payload and total
// length. ok is false when p holds no whole frame; bad when the frame
// there is not valid (torn or damaged).
func parseFrame(p []byte) (rec []byte, n int, ok, bad bool) {
	if len(p) < frameHeader {
		return nil, 0, false, false
	}
	l := binary.LittleEndian.Uint32(p)
	if l > MaxRecord {
		return nil, 0, false, true
	}
	n = frameHeader + int(l)
	if len(p) < n {
		return nil, n, false, false
	}
	rec = p[frameHeader:n]
	if frameCRC(p[:4], rec) != binary.LittleEndian.Uint32(p[4:]) {
		return nil, 0, false, true
	}
	return rec, n, true, false
}

func segPath(dir string, seq uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%016x%s", seq, segExt))
}

func segHeader(id []byte) []byte {
	h := make([]byte, headerSize)
	copy(h, segmentMagic)
	copy(h[8:24], id)
	binary.LittleEndian.PutUint32(h[24:], crc32.Checksum(h[:24], castagnoli))
	return h
}

// parseHeader returns the segment id of a valid header.
func parseHeader(h []byte) (string, bool) {
	if len(h) < headerSize || string(h[:8]) != segmentMagic ||
		binary.LittleEndian.Uint32(h[24:]) != crc32.Checksum(h[:24], castagnoli) {
		return "", false
	}
	return base64.RawURLEncoding.EncodeToString(h[8:24]), true
}

// Open opens the spool in o.Dir, creating it if needed. It checks every
// segment and cuts torn or damaged frames off (logged), and starts the
// goroutine that writes; Close stops it.
func Open(o Options) (*Spool, error) {
	if o.Dir == "" {
		return nil, errors.New("spool: no directory")
	}
	if o.MaxBytes <= 0 {
		return nil, fmt.Errorf("spool: cap %d: must be positive", o.MaxBytes)
	}
	s := &Spool{dir: o.Dir, max: o.MaxBytes, segBytes: o.SegmentBytes, wait: o.Wait, probe: o.ProbeInterval, linger: o.Linger,
		log: o.Log, rand: o.Rand, cur: newBatch(), changed: make(chan struct{}),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if s.segBytes <= 0 {
		s.segBytes = min(max(o.MaxBytes/8, 64<<10), 64<<20)
	}
	if s.wait <= 0 {
		s.wait = DefaultWait
	}
	if s.probe <= 0 {
		s.probe = time.Second
	}
	if s.linger == 0 {
		s.linger = DefaultLinger
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var err error
	if s.lock, err = lock(filepath.Join(s.dir, "lock")); err != nil {
		return nil, fmt.Errorf("spool %s: %w", s.dir, err)
	}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("spool %s: %w", s.dir, err)
	}
	go s.commitLoop()
	return s, nil
}

func (s *Spool) closeFiles() {
	for _, f := range []*os.File{s.active, s.ckpt} {
		if f != nil {
			f.Close()
		}
	}
	unlock(s.lock)
}

// load reads the checkpoint and the segments, repairs them and starts a
// new segment to write to.
func (s *Spool) load() error {
	cp, cpOK, err := s.openCheckpoint()
	if err != nil {
		return err
	}
	seqs, err := s.segmentSeqs()
	if err != nil {
		return err
	}
	for _, seq := range seqs {
		seg, err := s.check(seq)
		if err != nil {
			return err
		}
		if seg != nil {
			s.segs = append(s.segs, seg)
			s.size += seg.size
		}
	}
	// Records go to a new segment, never to the end of an old one: a
	// spool restored from a backup must not give a new record the key of
	// one shipped from the same place before.
	next := uint64(1)
	if n := len(s.segs); n > 0 {
		next = s.segs[n-1].seq + 1
	} else if cpOK {
		next = cp.Segment + 1
	}
	if err := s.create(next); err != nil {
		return err
	}
	s.cp = s.start(cp, cpOK)
	return nil
}

// segmentSeqs lists the segment files' sequence numbers, ascending.
func (s *Spool) segmentSeqs() ([]uint64, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segExt)
		if !ok || len(name) != 16 || !e.Type().IsRegular() {
			continue
		}
		seq, err := strconv.ParseUint(name, 16, 64)
		if err != nil {
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return seqs, nil
}

// check reads segment seq from the start, checking every frame, and cuts
// the file after its last good one. A file without a valid header is
// removed when it holds nothing beyond one (a crash while it was made),
// else set aside as .damaged; check then returns nil.
func (s *Spool) check(seq uint64) (*segment, error) {
	path := segPath(s.dir, seq)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 256<<10)
	h := make([]byte, headerSize)
	_, herr := io.ReadFull(r, h)
	id, ok := parseHeader(h)
	if herr != nil || !ok {
		if fi.Size() <= headerSize {
			return nil, os.Remove(path)
		}
		s.log.Error("spool segment has no valid header; set aside, its records are not delivered",
			"file", path, "bytes", fi.Size())
		return nil, os.Rename(path, path+".damaged")
	}
	good := int64(headerSize)
	var buf []byte
	hdr := make([]byte, frameHeader)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			break
		}
		l := binary.LittleEndian.Uint32(hdr)
		if l > MaxRecord || good+frameHeader+int64(l) > fi.Size() {
			break
		}
		buf = slices.Grow(buf[:0], int(l))[:l]
		if _, err := io.ReadFull(r, buf); err != nil {
			break
		}
		if frameCRC(hdr[:4], buf) != binary.LittleEndian.Uint32(hdr[4:]) {
			break
		}
		good += frameHeader + int64(l)
	}
	if good < fi.Size() {
		s.log.Warn("spool segment ends in a torn or damaged frame; cut after the last good one (never acknowledged if torn by a crash)",
			"file", path, "kept", good, "cut", fi.Size()-good)
		if err := os.Truncate(path, good); err != nil {
			return nil, err
		}
	}
	return &segment{seq: seq, id: id, size: good}, nil
}

// create makes segment seq and makes it the one written to.
func (s *Spool) create(seq uint64) error {
	f, seg, err := s.makeSegment(seq)
	if err != nil {
		return err
	}
	s.use(f, seg)
	return nil
}

// makeSegment makes segment seq with a new id, durable (file and
// directory fsync'd) before it is used.
func (s *Spool) makeSegment(seq uint64) (*os.File, *segment, error) {
	id := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, id); err != nil {
		return nil, nil, fmt.Errorf("segment id: %w", err)
	}
	path := segPath(s.dir, seq)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, nil, err
	}
	h := segHeader(id)
	_, err = f.Write(h)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, nil, err
	}
	sid, _ := parseHeader(h)
	return f, &segment{seq: seq, id: sid, size: headerSize}, nil
}

// use makes seg, open as f, the segment written to.
func (s *Spool) use(f *os.File, seg *segment) {
	old := s.active
	s.mu.Lock()
	s.active = f
	s.segs = append(s.segs, seg)
	s.size += headerSize
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// prepareNext makes the next segment in the background once the current
// one is half full, so that starting it costs a write no fsync of its own.
func (s *Spool) prepareNext(cur *segment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spare != nil || s.preparing || s.closed || cur.size < s.segBytes/2 {
		return
	}
	s.preparing = true
	s.prep.Go(func() {
		f, seg, err := s.makeSegment(cur.seq + 1)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.preparing = false
		if err != nil {
			s.log.Error("make the next spool segment", "dir", s.dir, "err", err)
			return
		}
		s.spare = &spare{f: f, seg: seg}
	})
}

// spare is a segment made ahead of need.
type spare struct {
	f   *os.File
	seg *segment
}

// rotate starts the next segment; the current one is complete.
func (s *Spool) rotate() error {
	s.mu.Lock()
	next := s.segs[len(s.segs)-1].seq + 1
	sp := s.spare
	s.spare = nil
	s.mu.Unlock()
	if sp != nil && sp.seg.seq == next {
		s.use(sp.f, sp.seg)
		return nil
	}
	if sp != nil {
		sp.f.Close()
	}
	return s.create(next)
}

// key is the stable, unique name of the frame at off in seg: the
// segment's id, a dot, and the offset in at least 8 hex digits, so that
// the keys of one segment sort in the order of their frames.
func (seg *segment) key(off int64) string {
	const digits = "0123456789abcdef"
	var b [48]byte
	k := append(b[:0], seg.id...)
	k = append(k, '.')
	w := 8
	for v := off >> 32; v > 0; v >>= 4 {
		w++
	}
	for i := w - 1; i >= 0; i-- {
		k = append(k, digits[(off>>(4*i))&15])
	}
	return string(k)
}
