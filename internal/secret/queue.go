package secret

import (
	"context"
	"errors"
)

// PasswordQueue bounds the password checks of a process: at most Running
// run at once (each Argon2id check under DefaultPasswordParams takes
// 64 MiB), and at most Waiting more wait for their turn. A check that finds
// the line full is refused at once, without any work: a burst of sign-ins
// can then make another user wait at most (Waiting/Running + 1) checks'
// time, however large it is. It is safe for concurrent use.
type PasswordQueue struct {
	places  chan struct{} // running and waiting
	running chan struct{}
	verify  func(pw, encoded string) (bool, error)
}

// PasswordQueueOptions configure a PasswordQueue. Zero fields take the
// defaults.
type PasswordQueueOptions struct {
	// Running checks at once (0: 4).
	Running int
	// Waiting checks at most besides those running (0: twice Running;
	// negative: none).
	Waiting int
	// Verify checks a password against a PHC string (nil: VerifyPassword).
	// Tests put a check here that they hold.
	Verify func(pw, encoded string) (bool, error)
}

// NewPasswordQueue returns a queue.
func NewPasswordQueue(o PasswordQueueOptions) *PasswordQueue {
	if o.Running <= 0 {
		o.Running = 4
	}
	switch {
	case o.Waiting == 0:
		o.Waiting = 2 * o.Running
	case o.Waiting < 0:
		o.Waiting = 0
	}
	if o.Verify == nil {
		o.Verify = VerifyPassword
	}
	return &PasswordQueue{places: make(chan struct{}, o.Running+o.Waiting), running: make(chan struct{}, o.Running),
		verify: o.Verify}
}

// ErrQueueFull is the answer of Enter when every place in line is taken.
var ErrQueueFull = errors.New("too many password checks under way")

// Enter takes a place in line for one check, or returns ErrQueueFull at
// once. Every place taken must be given back with Leave.
func (q *PasswordQueue) Enter() error {
	select {
	case q.places <- struct{}{}:
		return nil
	default:
		return ErrQueueFull
	}
}

// Leave gives back the place that Enter took.
func (q *PasswordQueue) Leave() { <-q.places }

// Verify waits for a turn, then checks pw against encoded, the stored
// PHC string; an empty encoded does the work of a check against a hash
// no password matches (DummyVerifyPassword), for a user who does not
// exist. Call it holding a place (Enter). It returns ctx's error if ctx
// ends before the turn comes, having checked nothing.
func (q *PasswordQueue) Verify(ctx context.Context, pw, encoded string) (bool, error) {
	select {
	case q.running <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-q.running }()
	if encoded == "" {
		_, _ = q.verify(pw, dummyHash())
		return false, nil
	}
	return q.verify(pw, encoded)
}

// Held is how many checks hold a place now, running or waiting.
func (q *PasswordQueue) Held() int { return len(q.places) }
