"""``-V`` and ``-h/-hh/-hhh`` text, generated from the registry and option table."""

from __future__ import annotations

from .. import options, registry

GLOBAL_HELP = """\
   options (pysocat accepts every socat 1.8 global option):
      -V     print version and feature information to stdout, and exit
      -h|-?  print a help text describing command line options and addresses
      -hh    like -h, plus a list of all common address option names
      -hhh   like -hh, plus a list of all available address option names
      -d[ddd]         increase verbosity (use up to 4 times; 2 are recommended)
      -d<n>           set verbosity to n (0..4)
      -D     analyze file descriptors before loop
      -ly[facility]  log to syslog, using facility (default is daemon)
      -lf<logfile>   log to file
      -ls            log to stderr (default if no other log)
      -lm[facility]  mixed log mode (stderr during initialization, then syslog)
      -lp<progname>  set the program name used for logging and for SOCAT-style env vars
      -lu            use microseconds for logging timestamps
      -lh            add hostname to log messages
      -v     verbose text dump of data traffic
      -x     verbose hexadecimal dump of data traffic
      -r <file>      raw dump of data flowing from left to right
      -R <file>      raw dump of data flowing from right to left
      -b<size_t>     set data buffer size (8192)
      -s     sloppy (continue on error)
      -t<timeout>    wait seconds before closing second channel
      -T<timeout>    total inactivity timeout in seconds
      -u     unidirectional mode (left to right)
      -U     unidirectional mode (right to left)
      -g     do not check option groups
      -L <lockfile>  try to obtain lock, or fail
      -W <lockfile>  try to obtain lock, or wait
      -4     prefer IPv4 if version is not explicitly specified
      -6     prefer IPv6 if version is not explicitly specified
      -S<signals>    signals to log (accepted for compatibility)
      --statistics   print transfer statistics at exit
"""


def _groups(groups: frozenset[str]) -> str:
    return ",".join(sorted(groups))


def help_text(level: int) -> str:
    """-h (level 1), -hh (2: option names), -hhh (3: names and aliases)."""
    out = [
        "pysocat - socat rebuilt in Python",
        "Usage:",
        "pysocat [options] <bi-address> <bi-address>",
        GLOBAL_HELP.rstrip("\n"),
        "   bi-address:",
        "      <single-address>!!<single-address>",
        "      <single-address>",
        "   single-address:",
        "      <address-head>[,<opts>]",
        "   address-head:",
    ]
    heads = sorted(((row.name.lower(), row.usage()), row) for row in registry.rows())
    out += [f"      {key[1]}\tgroups={_groups(row.groups)}" for key, row in heads]
    if level >= 2:
        out += ["   opts:", "      <opt>{,<opts>}:", "   opt:"]
        rows: list[tuple[str, options.OptionDesc]] = []
        for desc in options.TABLE:
            rows.append((desc.name, desc))
            if level >= 3:
                rows += [(alias, desc) for alias in desc.aliases]
        for name, desc in sorted(rows, key=lambda r: r[0]):
            out.append(
                f"      {name}\tgroups={_groups(desc.groups)}\tphase={desc.phase.name}\ttype={desc.type.value}"
            )
    return "\n".join(out) + "\n"
