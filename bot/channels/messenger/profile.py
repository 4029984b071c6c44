"""The page's Messenger profile: the Get Started button, the greeting and the persistent menu,
in the deployment's default language and the other one."""

from __future__ import annotations

import logging
from typing import Any

from bot.channels.messenger.client import GraphClient, MessengerError
from bot.channels.messenger.messages import short_title
from bot.channels.telegram.texts import N_
from bot.i18n import CatalogI18n

logger = logging.getLogger(__name__)

GREETING_LIMIT = 160
# Meta's locale names for the languages the bot speaks (the default one is "default").
META_LOCALES = {"lt": "lt_LT", "en": "en_US"}
PERSISTENT_MENU = (
    (N_("Menu"), "menu"),
    (N_("Polls"), "polls"),
    (N_("Events"), "events"),
    (N_("Submit a proposal"), "proposal:new"),
    (N_("My data"), "mydata"),
    (N_("Settings"), "settings"),
)
GREETING = N_(
    "Dalyvauk: polls, consultations and proposals to your municipality, here in Messenger."
)


def profile_payload(i18n: CatalogI18n, default_locale: str) -> dict[str, Any]:
    locales = [default_locale, *(x for x in sorted(i18n.available_locales) if x != default_locale)]
    greetings: list[dict[str, str]] = []
    menus: list[dict[str, Any]] = []
    for locale in locales:
        name = "default" if locale == default_locale else META_LOCALES.get(locale, locale)
        greetings.append(
            {"locale": name, "text": i18n.gettext(GREETING, locale=locale)[:GREETING_LIMIT]}
        )
        menus.append(
            {
                "locale": name,
                "composer_input_disabled": False,
                "call_to_actions": [
                    {
                        "type": "postback",
                        "title": short_title(i18n.gettext(label, locale=locale)),
                        "payload": payload,
                    }
                    for label, payload in PERSISTENT_MENU
                ],
            }
        )
    return {
        "get_started": {"payload": "get_started"},
        "greeting": greetings,
        "persistent_menu": menus,
    }


async def set_profile(graph: GraphClient, i18n: CatalogI18n, default_locale: str) -> bool:
    """Set the profile at start; a failure is logged and the bot runs on."""
    try:
        await graph.set_profile(profile_payload(i18n, default_locale))
    except (MessengerError, OSError, TimeoutError) as exc:
        logger.warning("Messenger: the page profile was not set (%s)", type(exc).__name__)
        return False
    logger.info("Messenger: page profile set (Get Started, greeting, menu)")
    return True
