"""pysocat: socat, the multipurpose relay, rebuilt in Python."""

__version__ = "0.1.0"


def run(argv: list[str]) -> int:
    """Run pysocat in-process with a socat command line; return the exit status."""
    from .cli import main

    return main(argv)
