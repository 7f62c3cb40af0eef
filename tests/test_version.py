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
