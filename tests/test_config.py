"""Configuration: read from the environment, and one clear line when something is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings, require_token
from models.proposals import DEFAULT_CATEGORIES

DALYVAUK = [sys.executable, "-c", "from bot.cli import main; main()"]


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "TELEGRAM_",
                "DATABASE_",
                "WEBHOOK_",
                "REDIS_",
                "ACTIVE_",
                "DEFAULT_LOCALE",
                "TIMEZONE",
            )
        )
    }
    return subprocess.run(
        [*DALYVAUK, *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_run_without_token_explains_how_to_get_one(tmp_path: Path) -> None:
    result = run_cli(["run"], {}, tmp_path)
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr
    assert "@BotFather" in result.stderr
    assert "dalyvauk demo" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_variable_is_named_in_one_line(tmp_path: Path) -> None:
    result = run_cli(["run"], {"TELEGRAM_ADMIN_IDS": "12,abc"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("Configuration error: TELEGRAM_ADMIN_IDS:")
    assert "Traceback" not in result.stderr


def test_invalid_database_url_is_named(tmp_path: Path) -> None:
    result = run_cli(["db", "upgrade"], {"DATABASE_URL": "mysql://x"}, tmp_path)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_is_read_from_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=123456:ABCdef\nTIMEZONE=Europe/Vilnius\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert require_token(load_settings()) == "123456:ABCdef"


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run_cli(["--help"], {}, tmp_path)
    assert result.returncode == 0
    for command in ("run", "webhook", "db"):
        assert command in result.stdout


def test_db_upgrade_creates_the_default_sqlite_database(tmp_path: Path) -> None:
    result = run_cli(["db", "upgrade"], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dalyvauk.sqlite3").exists()
    current = run_cli(["db", "current"], {}, tmp_path)
    assert "empty database" not in current.stdout
    assert (
        current.stdout.split("current: ")[1].split(";")[0]
        == current.stdout.split("newest: ")[1].strip()
    )


def test_environment_variables_map_to_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_API_BASE", "http://127.0.0.1:8081/")
    monkeypatch.setenv("TELEGRAM_ADMIN_IDS", "11, 22")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/dalyvauk")
    monkeypatch.setenv("ACTIVE_MUNICIPALITIES", "pag,brz")
    monkeypatch.setenv("WEBHOOK_LISTEN_PORT", "9000")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.telegram.api_base == "http://127.0.0.1:8081"
    assert settings.telegram.admin_ids == [11, 22]
    assert settings.database.url == "postgresql+asyncpg://u:p@db:5432/dalyvauk"
    assert settings.active_municipalities == ["PAG", "BRZ"]
    assert settings.webhook.listen_port == 9000


def test_event_targets_are_name_number_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).event.targets == {  # type: ignore[call-arg]
        "trained": 300,
        "discussions": 450,
        "study_visit": 33,
    }
    monkeypatch.setenv("EVENT_TARGETS", "trained=30, study_visit=3")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.event.targets == {"trained": 30, "discussions": 0, "study_visit": 3}


@pytest.mark.parametrize("value", ["trained=30,visits=3", "trained", "trained=-1", "trained=x"])
def test_bad_event_targets_are_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("EVENT_TARGETS", value)
    with pytest.raises(ConfigError, match=r"^EVENT_TARGETS: "):
        load_settings(_env_file=None)


def test_proposal_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings(_env_file=None).proposal  # type: ignore[call-arg]
    assert defaults.categories == list(DEFAULT_CATEGORIES)
    assert (defaults.daily_limit, defaults.digest_days) == (3, 3)
    assert defaults.digest_time == time(8, 0)
    monkeypatch.setenv("PROPOSAL_CATEGORIES", "youth, Environment,youth")
    monkeypatch.setenv("PROPOSAL_DAILY_LIMIT", "5")
    monkeypatch.setenv("PROPOSAL_DIGEST_DAYS", "7")
    monkeypatch.setenv("PROPOSAL_DIGEST_TIME", "7:30")
    settings = Settings(_env_file=None).proposal  # type: ignore[call-arg]
    assert settings.categories == ["youth", "environment"]
    assert (settings.daily_limit, settings.digest_days) == (5, 7)
    assert settings.digest_time == time(7, 30)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "PROPOSAL_CATEGORIES",
            "infrastructure,roads",
            "PROPOSAL_CATEGORIES: unknown category roads; choose from infrastructure, "
            "environment, culture_leisure, social_services, youth, other",
        ),
        ("PROPOSAL_CATEGORIES", ",", "PROPOSAL_CATEGORIES: name at least one of infrastructure"),
        ("PROPOSAL_DAILY_LIMIT", "0", "PROPOSAL_DAILY_LIMIT: "),
        ("PROPOSAL_DIGEST_DAYS", "many", "PROPOSAL_DIGEST_DAYS: "),
        (
            "PROPOSAL_DIGEST_TIME",
            "25:00",
            "PROPOSAL_DIGEST_TIME: must be a time of day like 08:00 (in TIMEZONE, Europe/Vilnius)",
        ),
        ("PROPOSAL_DIGEST_TIME", "8", "PROPOSAL_DIGEST_TIME: must be a time of day"),
    ],
)
def test_bad_proposal_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_defaults_are_the_embedded_setup() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database.is_sqlite
    assert settings.timezone == "Europe/Vilnius"
    assert settings.default_locale == "lt"
    assert settings.telegram.api_base == "https://api.telegram.org"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TIMEZONE", "Mars/Olympus"),
        ("DEFAULT_LOCALE", "ru"),
        ("WEBHOOK_SECRET", "has space"),
        ("TELEGRAM_API_BASE", "ftp://x"),
    ],
)
def test_bad_values_raise_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        load_settings(_env_file=None)
