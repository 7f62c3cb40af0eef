"""Network helpers under the address families: the socket sequence by phase, datagrams,
peer ranges, TCP wrappers and bounded reads for proxy handshakes."""
