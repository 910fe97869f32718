// Command bench is Gatehouse's load benchmark: it starts a Gatehouse server
// (or targets a running one), provisions what it needs, drives N
// concurrent keep-alive connections for D seconds per scenario, and prints
// each scenario's throughput, latency, errors and the server's CPU time
// per 1,000 requests, with --baseline also as a ratio of the machine's
// ceiling measured in the same run. See README.md beside this file.
//
//	go run ./bench -c 32 -d 10s --baseline
//	go run ./bench --scale -scenarios none
//	go run ./bench --soak 10m
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// The tool runs its helper servers (upstream, bare proxy, reference
	// token server) as child processes of its own binary.
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Stdin, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole tool: it parses args, runs what they ask for, prints
// the report on stdout and progress on stderr, and returns the exit code:
// 0 when every scenario ran without errors, 1 when one failed or had
// errors, 2 for a bad command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if err == errHelp {
			return 0
		}
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	rep, err := execute(ctx, o, stderr)
	if rep != nil {
		if werr := rep.write(stdout, o.JSON); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if bad := rep.problems(); len(bad) > 0 {
		for _, p := range bad {
			fmt.Fprintf(stderr, "bench: %s\n", p)
		}
		return 1
	}
	return 0
}
