package faultproxy_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/faultproxy"
	"github.com/gatehouse/gatehouse/internal/poll"
)

// echo is a target that sends back what it reads and counts what it saw.
type echo struct {
	addr     string
	accepted atomic.Int64
	received atomic.Int64
}

func startEcho(t *testing.T) *echo {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echo{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				buf := make([]byte, 1024)
				for {
					n, err := c.Read(buf)
					e.received.Add(int64(n))
					if n > 0 {
						c.Write(buf[:n])
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return e
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads it back within d.
func roundTrip(c net.Conn, msg string, d time.Duration) error {
	c.SetDeadline(time.Now().Add(d))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	return expect(c, msg, d)
}

func expect(c net.Conn, msg string, d time.Duration) error {
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, []byte(msg)) {
		return errors.New("echo: got " + string(got) + ", want " + msg)
	}
	return nil
}

// silent is how long a read must see nothing for a connection to count as
// passing nothing. Bytes through the loopback take microseconds.
const silent = 200 * time.Millisecond

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

func TestCutAndRestore(t *testing.T) {
	tests := []struct {
		mode faultproxy.Mode
		// during the cut
		oldEnds    bool // a connection made before ends (reset), instead of going silent
		newRefused bool // a new connection is refused, instead of accepted and silent
		// after Restore
		heldDelivered bool // what was written during the cut arrives
	}{
		{mode: faultproxy.Refuse, oldEnds: true, newRefused: true, heldDelivered: false},
		{mode: faultproxy.Blackhole, oldEnds: false, newRefused: false, heldDelivered: true},
	}
	for _, tc := range tests {
		t.Run(tc.mode.String(), func(t *testing.T) {
			e := startEcho(t)
			p := faultproxy.Start(t, e.addr)
			old := dial(t, p.Addr())
			if err := roundTrip(old, "before", 2*time.Second); err != nil {
				t.Fatalf("through the proxy before the cut: %v", err)
			}
			poll.Must(t, 2*time.Second, "the proxy to hold the connection", func() bool { return p.Conns() == 1 })

			if err := p.Cut(tc.mode); err != nil {
				t.Fatal(err)
			}
			receivedBefore, acceptedBefore := e.received.Load(), e.accepted.Load()

			// A connection made before the cut.
			old.Write([]byte("during")) // may fail on a reset connection
			err := expect(old, "during", silent)
			switch {
			case tc.oldEnds && (err == nil || isTimeout(err)):
				t.Errorf("old connection during a %v cut: read error %v, want it reset", tc.mode, err)
			case !tc.oldEnds && !isTimeout(err):
				t.Errorf("old connection during a %v cut: read error %v, want nothing to arrive", tc.mode, err)
			}

			// A connection made during the cut.
			var fresh net.Conn
			c, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second)
			if tc.newRefused {
				if !errors.Is(err, syscall.ECONNREFUSED) {
					t.Errorf("dial during a %v cut: %v, want connection refused", tc.mode, err)
				}
				if c != nil {
					c.Close()
				}
			} else {
				if err != nil {
					t.Fatalf("dial during a %v cut: %v, want it accepted", tc.mode, err)
				}
				fresh = c
				defer fresh.Close()
				fresh.Write([]byte("fresh"))
				if err := expect(fresh, "fresh", silent); !isTimeout(err) {
					t.Errorf("new connection during a %v cut: read error %v, want nothing to arrive", tc.mode, err)
				}
			}
			if got := e.received.Load() - receivedBefore; got != 0 {
				t.Errorf("the target received %d bytes during the cut, want 0", got)
			}
			if got := e.accepted.Load() - acceptedBefore; got != 0 {
				t.Errorf("the target accepted %d connections during the cut, want 0", got)
			}

			if err := p.Restore(); err != nil {
				t.Fatal(err)
			}
			if tc.heldDelivered {
				if err := expect(old, "during", 2*time.Second); err != nil {
					t.Errorf("old connection after Restore: the held bytes: %v", err)
				}
				if err := roundTrip(old, "after", 2*time.Second); err != nil {
					t.Errorf("old connection after Restore: %v", err)
				}
				if err := expect(fresh, "fresh", 2*time.Second); err != nil {
					t.Errorf("connection made during the cut, after Restore: %v", err)
				}
			} else if err := roundTrip(old, "after", silent); err == nil {
				t.Errorf("old connection after Restore of a %v cut still works, want it gone", tc.mode)
			}
			if err := roundTrip(dial(t, p.Addr()), "new", 2*time.Second); err != nil {
				t.Errorf("new connection after Restore: %v", err)
			}
		})
	}
}

// Switching a blackhole to a refusal resets the held connections; a cut
// of the same mode twice and a Restore of an uncut proxy change nothing.
func TestModeChanges(t *testing.T) {
	e := startEcho(t)
	p := faultproxy.Start(t, e.addr)
	if err := p.Restore(); err != nil {
		t.Fatalf("Restore of an uncut proxy: %v", err)
	}
	c := dial(t, p.Addr())
	if err := roundTrip(c, "x", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, m := range []faultproxy.Mode{faultproxy.Blackhole, faultproxy.Blackhole} {
		if err := p.Cut(m); err != nil {
			t.Fatal(err)
		}
	}
	held := dial(t, p.Addr())
	if err := p.Cut(faultproxy.Refuse); err != nil {
		t.Fatal(err)
	}
	for name, conn := range map[string]net.Conn{"old": c, "held": held} {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("%s connection after blackhole then refuse: read error %v, want it reset", name, err)
		}
	}
	if err := p.Cut(faultproxy.Refuse); err != nil {
		t.Fatalf("second Refuse: %v", err)
	}
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(dial(t, p.Addr()), "again", 2*time.Second); err != nil {
		t.Errorf("after Restore: %v", err)
	}
	if err := p.Cut(faultproxy.Mode(0)); err == nil {
		t.Errorf("Cut(Mode(0)): no error")
	}
}

func TestClose(t *testing.T) {
	e := startEcho(t)
	p, err := faultproxy.New(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	if err := roundTrip(c, "x", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Cut(faultproxy.Blackhole); err != nil {
		t.Fatal(err)
	}
	held := dial(t, p.Addr())
	p.Close() // returns once every connection is closed
	for name, conn := range map[string]net.Conn{"open": c, "held": held} {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("%s connection after Close: read error %v, want it closed", name, err)
		}
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after Close: %v, want connection refused", err)
	}
	if err := p.Cut(faultproxy.Refuse); err == nil {
		t.Errorf("Cut after Close: no error")
	}
	if err := p.Restore(); err == nil {
		t.Errorf("Restore after Close: no error")
	}
}

func TestURL(t *testing.T) {
	p := faultproxy.Start(t, "127.0.0.1:5432")
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", want: "postgres://postgres@" + p.Addr() + "/test?sslmode=disable"},
		{in: "postgresql://u:p@db.example:5433/x", want: "postgresql://u:p@" + p.Addr() + "/x"},
		{in: "/var/lib/gatehouse.db", err: true},
		{in: "::", err: true},
	}
	for _, tc := range tests {
		got, err := p.URL(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("URL(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}
