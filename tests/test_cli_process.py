"""The ``dalyvauk`` command as a newcomer runs it: a real process against the local Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.localapi.server import LocalBotAPI
from tests.support.harness import free_port

SETTINGS_PREFIXES = ("TELEGRAM_", "DATABASE_", "WEBHOOK_", "REDIS_", "ACTIVE_", "DEFAULT_LOCALE")


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
    env.update(values)
    return env


async def start_cli(args: list[str], env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


async def test_dalyvauk_run_greets_a_resident_in_lithuanian(
    local_api: LocalBotAPI, tmp_path: Path
) -> None:
    env = clean_env(TELEGRAM_BOT_TOKEN=local_api.token, TELEGRAM_API_BASE=local_api.base_url)
    process = await start_cli(["run"], env, tmp_path)
    try:
        await local_api.wait_for(
            lambda: bool(local_api.calls_for("getUpdates")),
            60,
            description="the bot to start polling",
        )
        local_api.add_user(5001, "Ona")
        await local_api.send_text(5001, "/start")
        message = await local_api.wait_for_bot_message(5001, timeout=20)
        assert message.text.startswith("Sveiki, Ona!")
    finally:
        returncode, stderr = await stop(process)
    assert returncode == 0, stderr
    assert (tmp_path / "dalyvauk.sqlite3").exists()
    assert local_api.token.split(":")[1] not in stderr  # the token never reaches the logs


async def test_dalyvauk_webhook_serves_updates_and_stops_on_sigterm(
    local_api: LocalBotAPI, tmp_path: Path
) -> None:
    port = free_port()
    env = clean_env(
        TELEGRAM_BOT_TOKEN=local_api.token,
        TELEGRAM_API_BASE=local_api.base_url,
        WEBHOOK_URL=f"http://127.0.0.1:{port}",
        WEBHOOK_SECRET="s3cret",
        WEBHOOK_LISTEN_HOST="127.0.0.1",
        WEBHOOK_LISTEN_PORT=str(port),
    )
    process = await start_cli(["webhook"], env, tmp_path)
    try:
        await local_api.wait_for(
            lambda: local_api.webhook is not None, 60, description="the bot to register its webhook"
        )
        local_api.add_user(5002, "Jonas")
        await local_api.send_text(5002, "/start")
        message = await local_api.wait_for_bot_message(5002, timeout=20)
        assert message.text.startswith("Sveiki, Jonas!")
    finally:
        returncode, stderr = await stop(process)
    assert returncode == 0, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("env", "variable"),
    [({}, "WEBHOOK_URL"), ({"WEBHOOK_URL": "https://bot.example.lt"}, "WEBHOOK_SECRET")],
)
async def test_dalyvauk_webhook_needs_its_settings(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    process = await start_cli(["webhook"], clean_env(TELEGRAM_BOT_TOKEN="123:abc", **env), tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert stderr.decode().startswith(f"Configuration error: {variable}:")
    assert not (tmp_path / "dalyvauk.sqlite3").exists()  # nothing happens before the check
