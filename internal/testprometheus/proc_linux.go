package testprometheus

import "syscall"

// sysProcAttr makes the kernel kill Prometheus when the test process dies
// without running its cleanups (a panic, a -timeout), so that no server
// outlives the test that started it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
