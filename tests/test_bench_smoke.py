"""The delivery benchmarks (bench/delivery.py, bench/messenger.py) run end to end, with
tiny numbers.

Only that it works and that nobody is lost are checked here: their speed and memory figures
belong to the benchmarks themselves (``--correctness-only`` keeps them out of the exit code).
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


def test_messenger_benchmark_on_postgresql_loses_nobody(
    postgres_server: PostgresServer | None, tmp_path: Path
) -> None:
    """bench/messenger.py: Messenger residents alone, then mixed with Telegram ones."""
    if postgres_server is None:
        pytest.skip("PostgreSQL not available")
    figures = tmp_path / "figures.json"
    command = [
        sys.executable,
        "bench/messenger.py",
        "--recipients",
        "60",
        "--mixed-recipients",
        "30",
        "--correctness-only",
        "--json",
        str(figures),
    ]
    env = {**os.environ, URL_VARIABLE: postgres_server.admin_url}
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "RESULTS" in result.stdout, output
    data = json.loads(figures.read_text())
    assert data["errors"] == {}
    alone, mixed = data["messenger"], data["mixed"]
    assert (alone["messenger"]["lost"], alone["messenger"]["duplicates"]) == (0, 0)
    assert alone["messenger"]["sent_ok"] == 60
    assert alone["telegram"] is None
    assert alone["outbox"] == {"sent": 60}
    assert (mixed["telegram"]["recipients"], mixed["messenger"]["recipients"]) == (10, 20)
    for app in ("telegram", "messenger"):
        assert (mixed[app]["lost"], mixed[app]["duplicates"]) == (0, 0)
    assert mixed["outbox"] == {"sent": 30}
