"""Console entry point: ``-V`` is answered without loading the relay (fast start-up)."""

from __future__ import annotations

import sys


def main() -> int:
    """Run pysocat with sys.argv; the full CLI is imported only when needed."""
    if sys.argv[1:] == ["-V"]:
        from .version import version_text

        sys.stdout.write(version_text())
        sys.stdout.flush()
        return 0
    from .cli import main as run

    return run()
