package main

import "syscall"

// childAttr makes the kernel kill a child if the benchmark dies first, so
// no server or load generator outlives it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
