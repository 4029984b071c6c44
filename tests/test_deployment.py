"""docker-compose.yml, Dockerfile and .env.example agree with the settings the code reads.

There is no Docker engine on the CI machines, so the files are read and checked here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from bot.app import UPDATES_STOP_GRACE_SECONDS
from bot.config import Settings
from bot.delivery.engine import STOP_GRACE_SECONDS

ROOT = Path(__file__).resolve().parent.parent


def settings_variables() -> set[str]:
    """Every environment variable the settings read: SECTION_FIELD or FIELD."""
    names = set()
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= {f"{name}_{sub}".upper() for sub in annotation.model_fields}
        else:
            names.add(name.upper())
    return names


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_compose_bot_sets_only_variables_the_code_reads(compose: dict[str, Any]) -> None:
    environment = compose["services"]["bot"]["environment"]
    unknown = set(environment) - settings_variables()
    assert not unknown, f"compose sets variables the bot never reads: {unknown}"
    assert {"TELEGRAM_BOT_TOKEN", "DATABASE_URL", "TELEGRAM_API_BASE"} <= set(environment)


def test_compose_database_url_points_at_the_db_service(compose: dict[str, Any]) -> None:
    db = compose["services"]["db"]
    url = compose["services"]["bot"]["environment"]["DATABASE_URL"]
    match = re.fullmatch(r"postgresql://(\w+):(.+)@(\w+):5432/(\w+)", url)
    assert match, url
    user, password, host, database = match.groups()
    assert host == "db"
    assert user == db["environment"]["POSTGRES_USER"]
    assert password == db["environment"]["POSTGRES_PASSWORD"]
    assert database == db["environment"]["POSTGRES_DB"]
    Settings(_env_file=None, database={"url": url})  # type: ignore[call-arg]


def test_compose_database_is_healthy_before_the_bot_starts(compose: dict[str, Any]) -> None:
    db = compose["services"]["db"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert compose["services"]["bot"]["depends_on"]["db"]["condition"] == "service_healthy"
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "database data must live in a named volume"


def test_compose_bot_migrates_then_runs(compose: dict[str, Any]) -> None:
    command = " ".join(compose["services"]["bot"]["command"])
    assert re.search(r"dalyvauk db upgrade && (exec )?dalyvauk (run|webhook)", command)
    port = compose["services"]["bot"]["environment"]["WEBHOOK_LISTEN_PORT"]
    assert compose["services"]["bot"]["ports"] == [f"{port}:{port}"]


def test_dockerfile_installs_the_package_and_its_catalogs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install ." in dockerfile
    for directory in ("bot", "handlers", "models", "locales"):
        assert f"COPY {directory} ./{directory}" in dockerfile
    assert "pybabel compile" in dockerfile


def test_env_example_lists_only_known_variables() -> None:
    names = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert names - settings_variables() == set()
    assert "TELEGRAM_BOT_TOKEN" in names


def test_env_example_values_are_valid_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / ".env"
    env.write_text((ROOT / ".env.example").read_text())
    for name in settings_variables():
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=str(env))  # type: ignore[call-arg]
    assert settings.database.is_sqlite
    assert settings.webhook.secret is None


def test_compose_lets_the_bot_stop_gracefully(compose: dict[str, Any]) -> None:
    """Docker's stop timeout covers the updates being handled and the sends in flight."""
    grace = compose["services"]["bot"]["stop_grace_period"]
    assert grace.endswith("s")
    assert float(grace[:-1]) > UPDATES_STOP_GRACE_SECONDS + STOP_GRACE_SECONDS
