"""``python -m pysocat``."""

from .cli import main

raise SystemExit(main())
