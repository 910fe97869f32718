package gateway

import (
	"context"
	"os"
)

// Watch is watch, fed signals by the test.
func (g *Gateway) Watch(ctx context.Context, path string, c <-chan os.Signal) { g.watch(ctx, path, c) }
