// Package logbuf buffers a server's log output, so that logging every
// request costs a copy into memory rather than a write system call:
// what was written reaches the underlying writer within one flush
// interval, at once when the buffer fills, and on Flush at shutdown.
package logbuf

import (
	"bufio"
	"context"
	"io"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/lifecycle"
)

// Size is the buffer's size: a few hundred request lines.
const Size = 64 << 10

// Interval is how often Run flushes what is buffered.
const Interval = 100 * time.Millisecond

// Writer is a buffered writer safe for concurrent use.
type Writer struct {
	mu sync.Mutex
	w  *bufio.Writer
}

// New buffers w.
func New(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, Size)} }

// Write buffers p; a slog handler writes one whole line per call, so
// lines are never interleaved.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes what is buffered.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// Run flushes every Interval until ctx ends.
func (b *Writer) Run(ctx context.Context) {
	lifecycle.Every(ctx, Interval, false, func(context.Context) { b.Flush() })
}
