//go:build !linux

package testprometheus

import "syscall"

// sysProcAttr is the default elsewhere: only Linux has a parent-death
// signal, and the cleanup stops the server in every ordinary ending.
func sysProcAttr() *syscall.SysProcAttr { return nil }
