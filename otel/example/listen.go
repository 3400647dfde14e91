package main

import "net"

func netListen(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, errNoAddr
	}
	return net.Listen("tcp", addr)
}
