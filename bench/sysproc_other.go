//go:build !linux

package main

import "syscall"

// childAttr: only Linux can tie a child's life to its parent's; the
// benchmark needs Linux anyway (/proc, taskset).
func childAttr() *syscall.SysProcAttr { return nil }

// bindNoPort: the source port is chosen at bind elsewhere.
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }
