"""Rows of listening addresses: the listen queue, peer admission (RANGE) and how peers are served (CHILD)."""

from __future__ import annotations

from .core import OptType, Phase, opt

B, N, S, T = OptType.BOOL, OptType.INT, OptType.STRING, OptType.TIME


# Listening and children.
opt("backlog", N, "LISTEN", Phase.LISTEN, lo=0, hi=2**31 - 1, help="the `listen`(2) backlog (default `SOMAXCONN`)")
opt("accept-timeout", T, "LISTEN", Phase.ACCEPT, "listen-timeout",
    help="give up waiting for a peer after this many seconds: a W line (`accept: Connection timed out`) and exit "
         "status 0, as socat")
opt("range", S, "RANGE", Phase.ACCEPT,
    help="accept only peers whose address is in the range: <address>/<bits> or <address>:<mask> for IPv4, "
         "[<address>]/<bits> for IPv6. Other peers are closed with a `W` log line, and the listener keeps listening")
opt("tcpwrap", S, "RANGE", Phase.ACCEPT, "tcpwrappers", "libwrap",
    help="check peers with TCP wrappers under this daemon name (hosts.allow/hosts.deny)")
opt("hosts-allow", S, "RANGE", Phase.ACCEPT, "tcpwrap-hosts-allow-table", "allow-table",
    help="TCP wrappers allow table instead of /etc/hosts.allow")
opt("hosts-deny", S, "RANGE", Phase.ACCEPT, "tcpwrap-hosts-deny-table", "deny-table",
    help="TCP wrappers deny table instead of /etc/hosts.deny")
opt("tcpwrap-etc", S, "RANGE", Phase.ACCEPT, "tcpwrap-dir", help="directory holding hosts.allow and hosts.deny")
opt("fork", B, "CHILD", Phase.ACCEPT,
    help="serve each accepted peer in a child process and keep listening. Children are reaped as they exit; they see "
         "the environment variables `SOCAT_PEERADDR`, `SOCAT_PEERPORT`, `SOCAT_SOCKADDR` and `SOCAT_SOCKPORT` (and "
         "the same names with the `-lp` prefix)")
opt("max-children", N, "CHILD", Phase.ACCEPT, lo=1, hi=2**31 - 1,
    help="at most this many children are alive at a time (with `concurrent`: open sessions); further peers wait in "
         "the listen queue")
opt("concurrent", B, "CHILD", Phase.ACCEPT,
    help="serve every peer in this one process's event loop (no fork); pysocat only")
