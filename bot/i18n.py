"""Translations and Lithuanian formatting of dates, numbers and plurals.

The catalogs in ``locales/<lang>/LC_MESSAGES/messages.po`` are compiled in memory when the
bot starts, so a running bot can never use a stale ``.mo`` file and no build step can be
forgotten. ``pybabel compile`` still works for tools that want ``.mo`` files.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def compile_catalog(po_path: Path) -> gettext.GNUTranslations:
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=po_path.parent.parent.name)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class CatalogI18n(I18n):
    """aiogram's I18n reading ``.po`` catalogs directly."""

    @contextmanager
    def context(self) -> Iterator[I18n]:
        # aiogram's gettext() looks up I18n's own context variable; a subclass gets a
        # variable of its own, so register under I18n's.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for po_path in sorted(self.path.glob(f"*/LC_MESSAGES/{self.domain}.po")):
            translations[po_path.parent.parent.name] = compile_catalog(po_path)
        return translations


def create_i18n(default_locale: str = "lt", path: Path = LOCALES_DIR) -> CatalogI18n:
    return CatalogI18n(path=path, default_locale=default_locale, domain=DOMAIN)


def long_date(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    """``2026 m. lapkričio 26 d.``"""
    return format_date(moment.astimezone(tz), format="long", locale=locale)


def weekday(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    """``ketvirtadienis``"""
    return format_datetime(moment, "EEEE", tzinfo=tz, locale=locale)


def short_time(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    """``18:00`` (24-hour clock in Lithuanian)"""
    return format_time(moment, "HH:mm", tzinfo=tz, locale=locale)


def date_and_time(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    """``2026 m. lapkričio 26 d., ketvirtadienis, 18:00``"""
    return (
        f"{long_date(moment, tz, locale)}, {weekday(moment, tz, locale)}, "
        f"{short_time(moment, tz, locale)}"
    )


def number(value: float, locale: str) -> str:
    """``1 234,5`` in Lithuanian."""
    return format_decimal(value, locale=locale)
