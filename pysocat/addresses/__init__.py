"""The family list: importing a family module registers its address types."""

from . import echo, files, stdio, tcp, unix  # noqa: F401
