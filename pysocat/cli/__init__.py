"""The command line: socat's argv normalised for docopt, global options, -h, and ``main``."""

from .main import USAGE, _logger, addresses_of, build_config, main, normalise, parse_args

__all__ = ["USAGE", "_logger", "addresses_of", "build_config", "main", "normalise", "parse_args"]
