// Package logbuf buffers a server's log output, so that logging every
// request costs a copy into memory rather than a write system call:
// what was written reaches the underlying writer within one flush
// interval, as soon as a buffer fills, and on Flush at shutdown.
//
// Two buffers take turns. While Run is running, a request that fills
// one hands it to Run's goroutine, which writes it, and goes on into
// the other: a request's goroutine never waits for the write system
// call (a slow disk or a full pipe delayed every request that logged
// behind it). Only when both buffers are full does a Write wait, for
// the older one to be written: the output is never dropped.
package logbuf

import (
	"context"
	"io"
	"sync"
	"time"
)

// Size is the size of each buffer: a few hundred request lines.
const Size = 64 << 10

// Interval is how often Run writes what is buffered.
const Interval = 100 * time.Millisecond

// Writer is a buffered writer safe for concurrent use.
type Writer struct {
	w    io.Writer
	kick chan struct{} // tells Run that a buffer is queued

	mu      sync.Mutex
	written sync.Cond // a write of out ended
	buf     []byte    // what Write appends to
	out     []byte    // the other buffer: queued or being written, or empty
	queued  bool      // out waits to be written
	writing bool      // someone writes out, without mu
	running bool      // Run writes what is queued
	err     error     // the first write error
}

// New buffers w.
func New(w io.Writer) *Writer {
	b := &Writer{w: w, kick: make(chan struct{}, 1), buf: make([]byte, 0, Size), out: make([]byte, 0, Size)}
	b.written.L = &b.mu
	return b
}

// Write buffers p; a slog handler writes one whole line per call, so
// lines are never interleaved. It does not report write errors (Flush
// does): a log line never fails a request.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.buf) > 0 && len(b.buf)+len(p) > Size {
		switch {
		case b.writing, b.queued && b.running:
			b.written.Wait() // both buffers full
		case b.queued:
			b.drain()
		default:
			b.queue()
			if b.running {
				select {
				case b.kick <- struct{}{}:
				default:
				}
			} else {
				b.drain()
			}
		}
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// queue hands buf over to be written; mu is held, and nothing is queued
// or being written.
func (b *Writer) queue() {
	b.out, b.buf = b.buf, b.out[:0]
	b.queued = true
}

// drain writes what is queued, if anything, with mu released meanwhile.
func (b *Writer) drain() {
	if !b.queued {
		return
	}
	b.queued, b.writing = false, true
	out := b.out
	b.mu.Unlock()
	_, err := b.w.Write(out)
	b.mu.Lock()
	b.writing = false
	if err != nil && b.err == nil {
		b.err = err
	}
	b.written.Broadcast()
}

// Flush writes everything buffered, in order, and returns the first
// write error since New.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.writing {
		b.written.Wait()
	}
	b.drain()
	if len(b.buf) > 0 {
		b.queue()
		b.drain()
	}
	return b.err
}

// Run writes the buffers that Writes fill, and what is buffered every
// Interval, until ctx ends; then Writes write full buffers themselves.
func (b *Writer) Run(ctx context.Context) {
	b.mu.Lock()
	b.running = true
	b.mu.Unlock()
	t := time.NewTicker(Interval)
	defer t.Stop()
	for {
		select {
		case <-b.kick:
			b.mu.Lock()
			b.drain()
			b.mu.Unlock()
		case <-t.C:
			b.Flush()
		case <-ctx.Done():
			b.mu.Lock()
			b.running = false
			b.drain()
			b.written.Broadcast() // a Write waiting for Run writes itself
			b.mu.Unlock()
			return
		}
	}
}
