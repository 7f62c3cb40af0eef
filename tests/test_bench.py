"""The benchmark harness keeps working: bench/run.py --tiny runs every scenario once.

No timing is asserted here; speed lives in `make bench`.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "run.py"


def scenarios() -> list[str]:
    spec = importlib.util.spec_from_file_location("pysocat_bench_run", RUN)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return list(mod.SCENARIOS)


pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="C socat is not installed")


def test_bench_tiny_runs_every_scenario(tmp_path: Path) -> None:
    names = scenarios()
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(RUN), "--tiny", "--json", str(out)],
                          capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in names:
        assert name in proc.stdout, f"{name} missing from the table:\n{proc.stdout}"
    doc = json.loads(out.read_text())
    assert doc["mode"] == "tiny"
    assert set(doc["scenarios"]) == set(names)
    for name, scen in doc["scenarios"].items():
        assert isinstance(scen["ratio"], float) and scen["ratio"] > 0, (name, scen["ratio"])
        for metric in scen["metrics"].values():
            assert metric["targets"], name
    assert not doc["errors"]


def test_bench_rejects_unknown_scenario() -> None:
    proc = subprocess.run([sys.executable, str(RUN), "--tiny", "--only", "nonesuch"],
                          capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert proc.returncode == 2
    assert "unknown scenario" in proc.stderr
