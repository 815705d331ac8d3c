package main

import "syscall"

// childAttr makes the kernel kill a child if the benchmark dies first, so
// no server or load generator outlives it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT (not in package
// syscall).
const ipBindAddressNoPort = 24

// bindNoPort is a net.Dialer Control for a dialer with a LocalAddr: the
// kernel then picks the source port at connect, as for any outgoing
// connection, instead of at bind — where every port still held by a closing
// connection to any destination counts as taken.
func bindNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
