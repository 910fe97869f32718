// Package faultproxy is a TCP proxy for tests that can cut the way to its
// target as a failing server or network does, and restore it: a database
// that stops answering is tested with real connections, not a mock.
//
// A proxy listens on 127.0.0.1 and forwards every connection to its
// target. Cut(Refuse) is a server that has gone away: every connection is
// reset and new ones are refused. Cut(Blackhole) is a dead network: every
// connection, old or new, stays open but no byte passes either way, so a
// client learns of it only from its own timeouts. Restore lets bytes pass
// again; what a blackholed connection had sent is delivered then, as TCP
// delivers it when a network heals.
package faultproxy

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Mode is the kind of cut.
type Mode int

const (
	// Refuse resets every connection and refuses new ones, as a host
	// where nothing listens on the port does.
	Refuse Mode = iota + 1
	// Blackhole keeps connections open and accepts new ones, but passes
	// no byte either way until Restore.
	Blackhole
)

func (m Mode) String() string {
	switch m {
	case Refuse:
		return "refuse"
	case Blackhole:
		return "blackhole"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// state is what the proxy does now.
type state int

const (
	open state = iota
	refused
	blackholed
	closed
)

// dialTimeout bounds the proxy's own connection to the target.
const dialTimeout = 5 * time.Second

// Proxy forwards connections to a target until it is cut.
type Proxy struct {
	target string
	addr   string // host:port it listens on, kept across a Refuse

	mu      sync.Mutex
	state   state
	changed chan struct{} // closed, and replaced, on every change of state
	ln      net.Listener  // nil while refused or closed
	links   map[*link]struct{}
	wg      sync.WaitGroup
}

// New starts a proxy on 127.0.0.1 (a free port) that forwards to target,
// a host:port.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), changed: make(chan struct{}), links: map[*link]struct{}{}}
	p.serve(ln)
	return p, nil
}

// Start is New for a test: it fails tb if the proxy cannot start and
// closes it when tb ends.
func Start(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p, err := New(target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

// Addr is the host:port the proxy listens on.
func (p *Proxy) Addr() string { return p.addr }

// Target is the host:port the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// URL returns rawURL (for example a database URL) with its host and port
// replaced by the proxy's, so that a client of the URL goes through the
// proxy.
func (p *Proxy) URL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("faultproxy: %w", err)
	}
	if u.Host == "" {
		return "", fmt.Errorf("faultproxy: %q names no host", rawURL)
	}
	u.Host = p.addr
	return u.String(), nil
}

// Cut cuts the way to the target in mode m until Restore. Cutting a cut
// proxy switches the mode: from Blackhole to Refuse resets the held
// connections; from Refuse to Blackhole accepts new connections again
// (and holds them).
func (p *Proxy) Cut(m Mode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.state == closed:
		return errors.New("faultproxy: closed")
	case m == Refuse:
		if p.ln != nil {
			p.ln.Close()
			p.ln = nil
		}
		for l := range p.links {
			l.reset()
		}
		p.setState(refused)
	case m == Blackhole:
		if err := p.listenLocked(); err != nil {
			return err
		}
		p.setState(blackholed)
	default:
		return fmt.Errorf("faultproxy: unknown mode %v", m)
	}
	return nil
}

// Restore lets bytes pass again: held connections go on where they
// stopped, and after a Refuse the proxy listens again on the same address.
// Restoring a proxy that is not cut does nothing.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == closed {
		return errors.New("faultproxy: closed")
	}
	if err := p.listenLocked(); err != nil {
		return err
	}
	p.setState(open)
	return nil
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.state == closed {
		p.mu.Unlock()
		return nil
	}
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for l := range p.links {
		l.reset()
	}
	p.setState(closed)
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

// Conns is how many client connections the proxy holds now.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

func (p *Proxy) setState(s state) {
	if p.state == s {
		return
	}
	p.state = s
	close(p.changed)
	p.changed = make(chan struct{})
}

// listenLocked listens again on the proxy's address if a Refuse closed
// the listener. The port was the proxy's a moment ago; another socket
// can take it meanwhile only in the rare case that the kernel gives it to
// an outgoing connection, so a few tries are made.
func (p *Proxy) listenLocked() error {
	if p.ln != nil {
		return nil
	}
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond) // the port is someone else's for a moment: nothing to wait on but time
	}
	return fmt.Errorf("faultproxy: listen again on %s: %w", p.addr, err)
}

// serve accepts on ln until it is closed. Called with p.mu held or before
// p is shared.
func (p *Proxy) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by Cut(Refuse) or Close
			}
			l := &link{client: c}
			p.mu.Lock()
			if p.state == refused || p.state == closed || p.ln != ln {
				p.mu.Unlock()
				l.reset()
				continue
			}
			p.links[l] = struct{}{}
			p.wg.Add(1)
			p.mu.Unlock()
			go p.run(l)
		}
	}()
}

// pass waits while the proxy is blackholed and reports whether bytes may
// pass now (false: the link is to end).
func (p *Proxy) pass(l *link) bool {
	for {
		p.mu.Lock()
		s, changed := p.state, p.changed
		p.mu.Unlock()
		if l.isReset() {
			return false
		}
		switch s {
		case open:
			return true
		case refused, closed:
			return false
		}
		<-changed
	}
}

// run connects l to the target once bytes may pass, and copies both ways.
func (p *Proxy) run(l *link) {
	defer p.wg.Done()
	defer p.drop(l)
	if !p.pass(l) {
		return
	}
	server, err := net.DialTimeout("tcp", p.target, dialTimeout)
	if err != nil {
		return
	}
	if !l.setServer(server) {
		return
	}
	done := make(chan struct{})
	go func() {
		p.forward(l, server, l.client)
		close(done)
	}()
	p.forward(l, l.client, server)
	<-done
}

// forward moves bytes from src to dst; each read is held until the proxy lets
// it pass. An end of either side ends the link.
func (p *Proxy) forward(l *link, dst, src net.Conn) {
	defer l.reset()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if !p.pass(l) {
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) drop(l *link) {
	l.reset()
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

// link is one client connection and, once bytes may pass, its connection
// to the target.
type link struct {
	mu     sync.Mutex
	client net.Conn
	server net.Conn
	done   bool
}

func (l *link) setServer(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		c.Close()
		return false
	}
	l.server = c
	return true
}

func (l *link) isReset() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done
}

// reset closes both sides; the client's with a TCP reset, as a host does
// for a connection whose process has gone.
func (l *link) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	l.done = true
	if tc, ok := l.client.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	l.client.Close()
	if l.server != nil {
		l.server.Close()
	}
}
