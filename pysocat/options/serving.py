"""Rows of listening addresses: the listen queue, peer admission (RANGE) and how peers are served (CHILD)."""

from __future__ import annotations

from .core import OptType, Phase, opt

B, N, S, T = OptType.BOOL, OptType.INT, OptType.STRING, OptType.TIME


# Listening and children.
opt("backlog", N, "LISTEN", Phase.LISTEN, lo=0, hi=2**31 - 1, help="listen() backlog (default SOMAXCONN)")
opt("accept-timeout", T, "LISTEN", Phase.ACCEPT, "listen-timeout", help="give up waiting for a peer after seconds")
opt("range", S, "RANGE", Phase.ACCEPT, help="accept only peers in <addr>/<bits> or <addr>:<mask>")
opt("tcpwrap", S, "RANGE", Phase.ACCEPT, "tcpwrappers", "libwrap",
    help="check peers with TCP wrappers under this daemon name (hosts.allow/hosts.deny)")
opt("hosts-allow", S, "RANGE", Phase.ACCEPT, "tcpwrap-hosts-allow-table", "allow-table",
    help="TCP wrappers allow table instead of /etc/hosts.allow")
opt("hosts-deny", S, "RANGE", Phase.ACCEPT, "tcpwrap-hosts-deny-table", "deny-table",
    help="TCP wrappers deny table instead of /etc/hosts.deny")
opt("tcpwrap-etc", S, "RANGE", Phase.ACCEPT, "tcpwrap-dir", help="directory holding hosts.allow and hosts.deny")
opt("fork", B, "CHILD", Phase.ACCEPT, help="serve each peer in a child process and keep listening")
opt("max-children", N, "CHILD", Phase.ACCEPT, lo=1, hi=2**31 - 1,
    help="at most this many live children (with concurrent: open sessions)")
opt("concurrent", B, "CHILD", Phase.ACCEPT,
    help="serve every peer in this one process's event loop (no fork); pysocat only")
