"""The delivery benchmark (bench/delivery.py) runs end to end, with tiny numbers.

Only that it works and that nobody is lost are checked here: its speed and memory figures
belong to the benchmark itself (``--correctness-only`` keeps them out of the exit code).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.postgres import URL_VARIABLE, PostgresServer

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 8


def test_delivery_benchmark_on_postgresql_loses_nobody(
    postgres_server: PostgresServer | None, tmp_path: Path
) -> None:
    if postgres_server is None:
        pytest.skip("PostgreSQL not available")
    figures = tmp_path / "figures.json"
    command = [
        sys.executable,
        "bench/delivery.py",
        "--recipients",
        "60",
        "--large",
        "300",
        "--large-seconds",
        "3",
        "--concurrency",
        str(CONCURRENCY),
        "--correctness-only",
        "--json",
        str(figures),
    ]
    # The suite's server, so the benchmark does not start a second cluster.
    env = {**os.environ, URL_VARIABLE: postgres_server.admin_url}
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "RESULTS" in result.stdout, output
    assert re.search(r"^Crash \(60\): lost +0 ", result.stdout, re.MULTILINE), output
    data = json.loads(figures.read_text())
    assert data["errors"] == {}
    assert data["rate"]["lost"] == 0
    assert data["rate"]["sent_ok"] == 60
    assert data["large"]["peak_rss_mb"] > 0
    assert data["crash"]["lost"] == 0
    assert data["crash"]["duplicates"] <= CONCURRENCY
    assert data["crash"]["outbox"] == {"sent": 60}
