"""The family list: importing a family module registers its address types."""

from . import echo, exec, files, stdio, tcp, unix  # noqa: F401
