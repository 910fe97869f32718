package main

import (
	"os/exec"
	"syscall"
)

// setParentDeath asks the kernel to end the child if the tool dies, so
// that no server outlives a killed benchmark.
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
