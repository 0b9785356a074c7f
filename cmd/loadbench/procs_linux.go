package main

import (
	"os/exec"
	"syscall"
)

// dieWithBench makes the kernel send the gateway process SIGKILL when the
// bench dies, so that a killed bench leaves no serve or worker behind.
// (Linux sends it when the thread that started the process ends; the Go
// runtime ends a thread only when a goroutine locked to it exits, which
// nothing in the bench does.)
func dieWithBench(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
