"""-V stays honest: the fast path's feature list is the registry's, and both paths agree."""

from __future__ import annotations

from conftest import run

from pysocat import registry
from pysocat.version import FEATURES


def test_fast_feature_list_matches_registry() -> None:
    assert len(set(FEATURES)) == len(FEATURES)
    assert set(FEATURES) == set(registry.features())


def test_fast_and_full_version_paths_agree() -> None:
    fast = run("-V")
    full = run("-d0", "-V")
    assert fast.returncode == full.returncode == 0
    assert fast.stdout == full.stdout
    assert b"#define WITH_TCP 1\n" in fast.stdout


def test_every_family_module_is_in_the_on_demand_list() -> None:
    """A family missing from FAMILIES would never register: its keywords would be unknown."""
    from pathlib import Path

    from pysocat import addresses

    folder = Path(addresses.__file__).parent
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__", "common"}
    modules |= {p.parent.name for p in folder.glob("*/__init__.py")}  # a family package (tls/)
    assert set(addresses.FAMILIES) == modules
    assert len(addresses.FAMILIES) == len(set(addresses.FAMILIES))


def test_a_tcp_relay_loads_only_the_families_it_needs() -> None:
    """The on-demand loading is real: a TCP-to-STDIO relay never imports the TLS or datagram families."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pysocat import registry\n"
        "registry.lookup('TCP-LISTEN'); registry.lookup('STDIO')\n"
        "print(' '.join(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('pysocat.addresses.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    loaded = set(out.stdout.split())
    assert {"stdio", "tcp"} <= loaded
    assert not loaded & {"openssl", "udp", "exec", "pty", "readline"}, loaded
