package main

import "syscall"

// childAttr: the runner dies with the supervisor, even if the supervisor is killed outright.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
