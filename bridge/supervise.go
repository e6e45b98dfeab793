package main

// Service mode's supervisor. baton-sdk's runner ends its process on errors that a long-running
// service should ride out: one 503 from the tenant's token endpoint becomes UNAUTHENTICATED and
// Hello gives up on it at once. Its HTTP client takes no transport from outside, so the bridge
// cannot retry that request itself. Instead, in service mode the bridge runs the runner as a
// child process and starts it again when it exits with an error, with backoff; signals are
// passed on, and a runner that ends cleanly (after SIGTERM) ends the bridge.

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// supervisedEnv marks the runner the supervisor started, so that it runs rather than supervises.
const supervisedEnv = "BATON_MIRO_BRIDGE_SUPERVISED"

// Backoff between restarts: doubling from the first to the longest, and back to the first once a
// runner has stayed up for `steady`.
var (
	firstBackoff = time.Second
	maxBackoff   = time.Minute
	steady       = 5 * time.Minute
)

// supervise runs this program again with the same arguments until it ends cleanly or a signal
// asks it to; it returns the exit code for the bridge.
func supervise() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "baton-miro-bridge: cannot find its own executable to supervise the runner:", err)
		return 1
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	backoff := firstBackoff
	for {
		cmd := exec.Command(self, os.Args[1:]...)
		cmd.Env = append(os.Environ(), supervisedEnv+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
		cmd.SysProcAttr = childAttr()
		started := time.Now()
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "baton-miro-bridge: cannot start the runner:", err)
			return 1
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var werr error
		select {
		case sig := <-signals:
			_ = cmd.Process.Signal(sig)
			return code(<-exited)
		case werr = <-exited:
		}
		if werr == nil {
			return 0
		}
		if time.Since(started) > steady {
			backoff = firstBackoff
		}
		fmt.Fprintf(os.Stderr, "baton-miro-bridge: the runner exited (%v) after %s; starting it again in %s\n",
			werr, time.Since(started).Round(time.Millisecond), backoff)
		select {
		case <-signals:
			return code(werr)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// code is the exit code a child's Wait error stands for.
func code(err error) int {
	if err == nil {
		return 0
	}
	if e, ok := err.(*exec.ExitError); ok && e.ExitCode() > 0 {
		return e.ExitCode()
	}
	return 1
}
