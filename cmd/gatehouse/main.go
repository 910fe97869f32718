// Command gatehouse is the Gatehouse API access server and its admin CLI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.LookupEnv)
	stop()
	os.Exit(code)
}
