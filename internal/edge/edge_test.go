package edge_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/edge"
)

func TestClientGone(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cut, cutWith := context.WithCancelCause(context.Background())
	cutWith(errors.New("shutdown"))
	child, stop := context.WithCancel(cut) // a request's context under a server that cut it
	defer stop()
	expired, stopExpired := context.WithTimeout(context.Background(), -time.Second)
	defer stopExpired()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"live", context.Background(), false},
		{"cancelled: the client went away", cancelled, true},
		{"cut by the server", cut, false},
		{"under a context the server cut", child, false},
		{"past its deadline", expired, false},
	} {
		if got := edge.ClientGone(tc.ctx); got != tc.want {
			t.Errorf("%s: ClientGone = %v, want %v", tc.name, got, tc.want)
		}
	}
}
