package spool

// SetBeforeWrite has fn run before each batch is written.
func (s *Spool) SetBeforeWrite(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeWrite = fn
}

// Writes is how many batches were written.
func (s *Spool) Writes() int64 { return s.Stats().Writes }

// Pending is how many frames wait for the next write.
func (s *Spool) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.cur.frames {
		if f != nil {
			n++
		}
	}
	return n
}

// Segments lists the segments' sequence numbers.
func (s *Spool) Segments() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var seqs []uint64
	for _, seg := range s.segs {
		seqs = append(seqs, seg.seq)
	}
	return seqs
}

// SegPath is the file of segment seq.
func SegPath(dir string, seq uint64) string { return segPath(dir, seq) }

// HeaderSize is the size of a segment's header.
const HeaderSize = headerSize
