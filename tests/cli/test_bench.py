"""The benchmark harness keeps working: bench/run.py --tiny runs every scenario once
(the conc_* scenarios of the concurrent listener included, with and without rinetd).

No timing is asserted here; speed lives in `make bench`.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
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
        if len(scen["contenders"]) > 1:  # conc_idle without rinetd has pysocat alone
            assert isinstance(scen["ratio"], float) and scen["ratio"] > 0, (name, scen["ratio"])
        for metric in scen["metrics"].values():
            assert metric["targets"], name
    assert not doc["errors"]
    check_concurrent_scenarios(doc["scenarios"])


def check_concurrent_scenarios(scens: dict[str, Any]) -> None:
    """The conc_* scenarios measure TCP-LISTEN,concurrent against socat's fork (and rinetd)."""
    rinetd = "rinetd" in scens["conc_8way"]["contenders"]
    assert scens["conc_8way"]["serve"]["pysocat"] == "concurrent"
    assert scens["conc_8way"]["serve"]["socat"] == "fork"
    assert scens["conc_bulk"]["serve"] == {"pysocat": "concurrent", "socat": "", "pysocat single": ""}
    for name in ("conc_seq", "conc_8way"):
        for run in scens[name]["runs"]["pysocat"]:
            assert run["rate"] > 0 and run["cpu_ms"] >= 0, (name, run)
        assert scens[name]["metrics"]["cpu_ms"]["targets"] == {"absolute": "<=0.3 ms"}
        assert isinstance(scens[name]["metrics"]["cpu_ms"]["met"]["absolute"], bool)
    targets = scens["conc_8way"]["metrics"]["rate"]["targets"]
    assert ("rinetd" in targets) == rinetd, targets
    for run in scens["conc_idle"]["runs"]["pysocat"]:  # every session held, then given back
        assert run["sessions"] == 100 and run["fds_per_session"] >= 2 and run["rss_held"] > run["rss_before"], run
    assert scens["conc_idle"]["metrics"]["rss"]["targets"] == {"absolute": "<=100 MiB"}
    bulk = scens["conc_bulk"]["metrics"]["throughput"]
    assert bulk["targets"] == {"pysocat single": ">=0.9x vs pysocat single"} and bulk["ratio"]["pysocat single"] > 0


def test_bench_without_rinetd_skips_its_column(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(RUN), "--tiny", "--no-rinetd", "--only", "conc_8way,conc_idle",
                           "--json", str(out)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "rinetd left out (--no-rinetd): its column and the >=0.8x rinetd target are skipped" in proc.stdout
    doc = json.loads(out.read_text())
    assert list(doc["scenarios"]["conc_idle"]["contenders"]) == ["pysocat"]
    assert doc["scenarios"]["conc_8way"]["metrics"]["rate"]["skipped_targets"] == ["rinetd"]
    assert "(rinetd)" not in proc.stdout


def test_bench_rejects_unknown_scenario() -> None:
    proc = subprocess.run([sys.executable, str(RUN), "--tiny", "--only", "nonesuch"],
                          capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert proc.returncode == 2
    assert "unknown scenario" in proc.stderr
