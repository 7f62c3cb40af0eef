"""pysocat: socat, the multipurpose relay, rebuilt in Python."""

from .version import VERSION

__version__ = VERSION


def run(argv: list[str]) -> int:
    """Run pysocat in-process with a socat command line; return the exit status."""
    from .cli import main

    return main(argv)
