//go:build !linux

package main

import "os/exec"

// setParentDeath does nothing here: the children still stop when their
// stdin closes.
func setParentDeath(*exec.Cmd) {}
