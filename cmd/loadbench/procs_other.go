//go:build !linux

package main

import "os/exec"

// dieWithBench does nothing where the kernel has no parent-death signal;
// the bench's cleanups still stop its processes on an ordinary exit.
func dieWithBench(*exec.Cmd) {}
