"""Configuration read from the environment and a ``.env`` file.

Variables are grouped by their first word: ``TELEGRAM_BOT_TOKEN`` is ``telegram.bot_token``,
``DATABASE_URL`` is ``database.url``, ``WEBHOOK_LISTEN_PORT`` is ``webhook.listen_port``.
"""

from __future__ import annotations

from datetime import time
from functools import cached_property
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.services.event_reminders import MAX_REMINDER_OFFSET
from bot.services.events import MAX_OFFER_HOURS, MAX_REMINDERS
from bot.services.proposals import DEFAULT_DAILY_LIMIT, DEFAULT_DIGEST_DAYS
from models.events import DEFAULT_OFFER_HOURS, DEFAULT_REMINDER_OFFSETS
from models.proposals import DEFAULT_CATEGORIES

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///dalyvauk.sqlite3"
TELEGRAM_API_BASE = "https://api.telegram.org"
MESSENGER_API_BASE = "https://graph.facebook.com/v21.0"
MESSENGER_RATE_PER_SECOND = 300.0  # Meta: 300 text calls per second per page
SUPPORTED_LOCALES = ("lt", "en")


def _split_commas(value: Any) -> Any:
    """Accept ``1,2,3`` (and ``[1, 2, 3]``) for list settings; an empty string is an empty list."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            text = text.strip("[]")
        return [part.strip().strip("\"'") for part in text.split(",") if part.strip()]
    return value


class TelegramSettings(BaseModel):
    bot_token: SecretStr | None = None
    api_base: str = TELEGRAM_API_BASE
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)

    _split_admin_ids = field_validator("admin_ids", mode="before")(_split_commas)

    @field_validator("api_base")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class DatabaseSettings(BaseModel):
    url: str = DEFAULT_DATABASE_URL

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Turn the usual ``postgresql://`` and ``sqlite://`` URLs into their async drivers."""
        for plain, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if value.startswith(plain):
                return driver + value.removeprefix(plain)
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


class WebhookSettings(BaseModel):
    url: str | None = None
    path: str = "/telegram/webhook"
    secret: SecretStr | None = None
    listen_host: str = "0.0.0.0"  # noqa: S104 - the webhook server listens inside a container
    listen_port: int = Field(default=8080, ge=1, le=65535)

    @field_validator("secret")
    @classmethod
    def _telegram_secret_alphabet(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters A-Z, a-z, 0-9, _ and -.
        if value is None:
            return None
        secret = value.get_secret_value()
        if not (1 <= len(secret) <= 256) or not all(
            c.isascii() and (c.isalnum() or c in "_-") for c in secret
        ):
            raise ValueError("must be 1-256 characters: letters, digits, _ or -")
        return value


class DeliverySettings(BaseModel):
    """Bulk sending (announcements, later poll invitations and reminders)."""

    rate_per_second: float = Field(default=30.0, gt=0, le=1000)
    paid_broadcast: bool = False  # Telegram's allow_paid_broadcast: up to 1000 messages/s
    concurrency: int = Field(default=8, ge=1, le=64)
    max_attempts: int = Field(default=5, ge=1, le=20)
    batch_size: int = Field(default=100, ge=1, le=1000)
    progress_interval: float = Field(default=3.0, gt=0)
    retry_base_seconds: float = Field(default=2.0, gt=0)

    @model_validator(mode="after")
    def _free_limit(self) -> DeliverySettings:
        if self.rate_per_second > 30 and not self.paid_broadcast:
            raise ValueError(
                "DELIVERY_RATE_PER_SECOND above 30 needs DELIVERY_PAID_BROADCAST=true "
                "(Telegram's paid broadcasts)"
            )
        return self


# The founding programme: 10 municipalities × 30 trained, about 450 in public discussions
# and focus groups, 33 on the study visit (3 per partner).
DEFAULT_EVENT_TARGETS = {"trained": 300, "discussions": 450, "study_visit": 33}
_TARGETS_EXAMPLE = "trained=300,discussions=450,study_visit=33"


class EventSettings(BaseModel):
    """Defaults for new events (an organizer may choose otherwise per event)."""

    # How long a place freed from the waitlist is held for the first waiting resident.
    offer_hours: int = Field(default=DEFAULT_OFFER_HOURS, ge=1, le=MAX_OFFER_HOURS)
    # Reminders to the registered residents, in minutes before the start.
    reminder_offsets: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_REMINDER_OFFSETS)
    )

    # The programme's goals in the report: people who attended events of these kinds
    # (trained: mokymai; discussions: viešosios diskusijos and fokus grupės; study_visit:
    # darbiniai vizitai). ``EVENT_TARGETS=trained=300,discussions=450,study_visit=33``;
    # a target not listed, or with a goal of 0, is left out of the report.
    targets: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_EVENT_TARGETS)
    )

    _split_offsets = field_validator("reminder_offsets", mode="before")(_split_commas)

    @field_validator("targets", mode="before")
    @classmethod
    def _parse_targets(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        goals: dict[str, int] = {}
        for part in _split_commas(value):
            name, equals, goal = part.partition("=")
            if not equals or not goal.strip().isdigit():
                raise ValueError(f"write name=number pairs, e.g. {_TARGETS_EXAMPLE}")
            goals[name.strip()] = int(goal)
        return goals

    @field_validator("targets")
    @classmethod
    def _known_targets(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(DEFAULT_EVENT_TARGETS))
        if unknown or any(goal < 0 for goal in value.values()):
            raise ValueError(
                f"targets are {', '.join(DEFAULT_EVENT_TARGETS)} with a number of people "
                f"(0 or more), e.g. {_TARGETS_EXAMPLE}"
            )
        return {**dict.fromkeys(DEFAULT_EVENT_TARGETS, 0), **value}

    @field_validator("reminder_offsets")
    @classmethod
    def _offsets_in_range(cls, value: list[int]) -> list[int]:
        if len(value) > MAX_REMINDERS or not all(1 <= v <= MAX_REMINDER_OFFSET for v in value):
            raise ValueError(
                f"at most {MAX_REMINDERS} numbers of minutes before the start, "
                f"each from 1 to {MAX_REMINDER_OFFSET} (30 days), e.g. 1440,120"
            )
        return sorted(set(value), reverse=True)


DEFAULT_DIGEST_TIME = time(8, 0)


class ProposalSettings(BaseModel):
    """Residents' proposals: the categories offered, the daily limit, and the morning
    digest of proposals waiting for the moderators."""

    # The categories residents choose from, in this order (each has its label in the bot's
    # texts, so only these keys are known): PROPOSAL_CATEGORIES=infrastructure,environment
    categories: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_CATEGORIES)
    )
    # Proposals one resident may submit per day (Lithuanian time).
    daily_limit: int = Field(default=DEFAULT_DAILY_LIMIT, ge=1, le=100)
    # The digest lists proposals whose status has not changed for more than this many days.
    digest_days: int = Field(default=DEFAULT_DIGEST_DAYS, ge=1, le=365)
    # When the digest goes out each morning, in TIMEZONE (Europe/Vilnius).
    digest_time: time = DEFAULT_DIGEST_TIME

    _split_categories = field_validator("categories", mode="before")(_split_commas)

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        keys = list(dict.fromkeys(key.lower() for key in value))
        unknown = [key for key in keys if key not in DEFAULT_CATEGORIES]
        if unknown or not keys:
            raise ValueError(
                f"unknown categor{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown)}; "
                f"choose from {', '.join(DEFAULT_CATEGORIES)}"
                if unknown
                else f"name at least one of {', '.join(DEFAULT_CATEGORIES)}"
            )
        return keys

    @field_validator("digest_time", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        hours, colon, minutes = value.strip().partition(":")
        valid = colon and hours.isdigit() and minutes.isdigit() and len(minutes) == 2
        if valid and int(hours) < 24 and int(minutes) < 60:
            return time(int(hours), int(minutes))
        raise ValueError("must be a time of day like 08:00 (in TIMEZONE, Europe/Vilnius)")


class MessengerSettings(BaseModel):
    """Facebook Messenger, the second residents' channel; off unless the page access token,
    the app secret and the verify token are all set."""

    page_access_token: SecretStr | None = None
    app_secret: SecretStr | None = None  # signs every webhook POST (X-Hub-Signature-256)
    verify_token: SecretStr | None = None  # the webhook's subscription handshake
    api_base: str = MESSENGER_API_BASE  # the Graph API; a local server in tests
    path: str = "/messenger/webhook"
    rate_per_second: float = Field(default=MESSENGER_RATE_PER_SECOND, gt=0, le=300)
    # Event reminders and changes to people registered may go outside the 24-hour window
    # with Meta's CONFIRMED_EVENT_UPDATE tag; off by default, since Meta's tag rules change.
    event_update_tag: bool = False

    @property
    def enabled(self) -> bool:
        return all((self.page_access_token, self.app_secret, self.verify_token))

    @property
    def missing(self) -> list[str]:
        """The variables still to set for the channel to be on."""
        names = {
            "MESSENGER_PAGE_ACCESS_TOKEN": self.page_access_token,
            "MESSENGER_APP_SECRET": self.app_secret,
            "MESSENGER_VERIFY_TOKEN": self.verify_token,
        }
        return [name for name, value in names.items() if not value]


class RedisSettings(BaseModel):
    url: str | None = None


class ResearchSettings(BaseModel):
    """Research exports: residents appear under a pseudonym keyed with this secret."""

    pseudonym_secret: SecretStr | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        env_ignore_empty=True,
        extra="ignore",
    )

    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    research: ResearchSettings = Field(default_factory=ResearchSettings)
    event: EventSettings = Field(default_factory=EventSettings)
    proposal: ProposalSettings = Field(default_factory=ProposalSettings)
    messenger: MessengerSettings = Field(default_factory=MessengerSettings)
    timezone: str = "Europe/Vilnius"
    default_locale: str = "lt"
    active_municipalities: Annotated[list[str], NoDecode] = Field(default_factory=list)
    privacy_url: str | None = None
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(8, 0)
    throttle_rate: float = Field(default=2.0, gt=0)
    throttle_burst: int = Field(default=12, ge=1)
    log_level: str = "INFO"

    _split_codes = field_validator("active_municipalities", mode="before")(_split_commas)

    @field_validator("active_municipalities")
    @classmethod
    def _upper_codes(cls, value: list[str]) -> list[str]:
        return [code.upper() for code in value]

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as Europe/Vilnius") from exc
        return value

    @field_validator("default_locale")
    @classmethod
    def _supported_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class _ExplicitSettings(Settings):
    """Settings from the given values only: no environment, no ``.env``."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def explicit_settings(**values: Any) -> Settings:
    """Settings that ignore the environment: for the sandbox and the tests, which must not
    pick up a developer's real token or database."""
    return _ExplicitSettings(**values)


class ConfigError(Exception):
    """A configuration problem, phrased for the person running the bot."""


def env_name(location: tuple[str | int, ...]) -> str:
    """``("telegram", "admin_ids", 0)`` → ``TELEGRAM_ADMIN_IDS``."""
    return "_".join(str(part) for part in location if isinstance(part, str)).upper()


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning validation errors into one readable :class:`ConfigError`."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        variable = env_name(first["loc"])
        if message.startswith(variable):  # a check across fields names its own variable
            raise ConfigError(message) from None
        raise ConfigError(f"{variable}: {message}") from None


BOTFATHER_HELP = (
    "TELEGRAM_BOT_TOKEN is not set. Open Telegram, write to @BotFather, send /newbot and "
    "follow the steps; then put the token it gives you in a .env file next to this README "
    "as TELEGRAM_BOT_TOKEN=123456789:AA... (or export it) and run the command again. "
    "To try the bot without a token, run: dalyvauk demo"
)


def require_token(settings: Settings) -> str:
    token = settings.telegram.bot_token
    if token is None or not token.get_secret_value().strip():
        raise ConfigError(BOTFATHER_HELP)
    value = token.get_secret_value().strip()
    left, _, right = value.partition(":")
    if not left.isdigit() or not right:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN: this does not look like a bot token (expected 123456789:AA...); "
            "copy it again from @BotFather"
        )
    return value


PSEUDONYM_HELP = (
    "RESEARCH_PSEUDONYM_SECRET is not set: exports name residents by a pseudonym made with "
    "this secret. Set it to a long random value (e.g. the output of "
    "python -c 'import secrets; print(secrets.token_urlsafe(32))') and keep it unchanged, "
    "so a resident keeps the same pseudonym in every export"
)


def require_pseudonym_secret(settings: Settings) -> str:
    """The secret for research pseudonyms; there is no default (a known one would let
    anyone link pseudonyms back to residents)."""
    secret = settings.research.pseudonym_secret
    value = secret.get_secret_value().strip() if secret is not None else ""
    if not value:
        raise ConfigError(PSEUDONYM_HELP)
    return value
