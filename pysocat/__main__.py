"""``python -m pysocat``: the console entry point's start-up (``-V`` answered without loading the CLI)."""

from .entry import main

raise SystemExit(main())
