"""ruff and mypy are part of the test suite, so the README's one test command checks them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_ruff_lint() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def readme_command(heading: str) -> str:
    """The first shell line in the README section whose heading starts with ``heading``."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(f"## {heading}", 1)[1]
    match = re.search(r"```(?:sh|bash|shell)\n(.+?)\n", section)
    assert match, f"no command block under '## {heading}'"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    command = readme_command("Run the tests")
    assert command in ci.splitlines()


def test_readme_first_command_starts_the_sandbox() -> None:
    readme = (ROOT / "README.md").read_text()
    first_section = readme.split("\n## ", 2)[1]
    assert first_section.startswith("Try it: the sandbox")
    command = readme_command("Try it: the sandbox")
    assert "pip install" in command
    assert command.endswith("dalyvauk demo")


def test_readme_run_command_installs_and_runs_the_bot() -> None:
    command = readme_command("Run the bot on Telegram")
    assert "pip install" in command
    assert command.endswith("dalyvauk run")
