"""OPENSSL rows: certificates, verification and protocol versions, read by the TLS and DTLS openers."""

from __future__ import annotations

from .core import OptType, Phase, opt

B, S = OptType.BOOL, OptType.STRING


opt("openssl-certificate", S, "OPENSSL", Phase.INIT, "cert", "certificate",
    help="PEM file with our certificate (and its key unless key= is given)")
opt("openssl-key", S, "OPENSSL", Phase.INIT, "key", help="PEM file with the private key of cert=")
opt("openssl-dhparam", S, "OPENSSL", Phase.INIT, "dh", "dhparam", "dhparams", "openssl-dhparams",
    help="PEM file with Diffie-Hellman parameters (server)")
opt("openssl-cafile", S, "OPENSSL", Phase.INIT, "cafile", help="PEM file of certificates trusted to verify the peer")
opt("openssl-capath", S, "OPENSSL", Phase.INIT, "capath", help="directory of hashed trusted certificates")
opt("openssl-verify", B, "OPENSSL", Phase.INIT, "verify",
    help="verify the peer's certificate (default 1; a server then requires a client certificate)")
opt("openssl-commonname", S, "OPENSSL", Phase.INIT, "cn", "commonname",
    help="name the server certificate must match instead of the host parameter")
opt("openssl-snihost", S, "OPENSSL", Phase.INIT, "snihost", help="server name sent with SNI (default: commonname or host)")
opt("openssl-no-sni", B, "OPENSSL", Phase.INIT, "no-sni", "nosni", help="send no SNI server name")
opt("openssl-cipherlist", S, "OPENSSL", Phase.INIT, "cipher", "cipherlist", "ciphers",
    help="OpenSSL cipher list (TLS 1.2 and below)")
opt("openssl-min-proto-version", S, "OPENSSL", Phase.INIT, "min-proto-version", "min-version",
    help="lowest protocol version: TLS1.2 by default; TLS1, TLS1.1 only when asked")
opt("openssl-max-proto-version", S, "OPENSSL", Phase.INIT, "max-proto-version", "max-version",
    help="highest protocol version, e.g. TLS1.2")
opt("openssl-method", S, "OPENSSL", Phase.INIT, "method",
    help="socat's protocol method (TLS1 ... TLS1.3, SSL23; DTLS, DTLS1, DTLS1.2): mapped to version bounds")
opt("openssl-compress", S, "OPENSSL", Phase.INIT, "compress", help="none (default) or auto; compression is never used")
opt("openssl-pseudo", B, "OPENSSL", Phase.INIT, "pseudo", help="accepted and ignored (the ssl module seeds itself)")
opt("openssl-egd", S, "OPENSSL", Phase.INIT, "egd", help="accepted and ignored (no entropy daemon is needed)")
