"""HTTP CONNECT proxy (PROXY) and SOCKS4/SOCKS5 rows, read by their openers."""

from __future__ import annotations

from .core import OptType, Phase, opt

B, S = OptType.BOOL, OptType.STRING


opt("proxyport", S, "HTTP", Phase.LATE, help="port of the HTTP proxy (default 8080)")
opt("proxy-authorization", S, "HTTP", Phase.LATE, "proxyauth", "proxy-auth",
    help="<user>:<password> sent with Basic authentication to the proxy")
opt("proxy-authorization-file", S, "HTTP", Phase.LATE, "proxyauthfile",
    help="file holding <user>:<password> for proxy Basic authentication")
opt("proxy-resolve", B, "HTTP,SOCKS5", Phase.LATE, "resolve", "resolv",
    help="resolve the target host here and send the proxy its address")
opt("ignorecr", B, "HTTP", Phase.LATE, help="accept proxy reply lines ending in LF only")
opt("socksport", S, "SOCKS4,SOCKS5", Phase.LATE, help="port of the SOCKS server (default 1080)")
opt("socksuser", S, "SOCKS4,SOCKS5", Phase.LATE, "socks5-username",
    help="SOCKS4 user id (default $LOGNAME or $USER); SOCKS5 user name for password authentication")
opt("sockspass", S, "SOCKS5", Phase.LATE, "socks5-password", "sockspassword",
    help="SOCKS5 password for username/password authentication (RFC 1929)")

