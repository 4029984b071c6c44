"""A Messenger resident's first steps: Get Started, consent, municipality, age group, menu.

The step shown is computed from what is stored (as on Telegram), so old quick replies and
double taps cannot skip or repeat a step. Until onboarding is finished, whatever the
resident sends leads to their current step; typing the municipality's name works too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable

from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.messenger import deep_links
from bot.channels.messenger.context import MessengerContext
from bot.channels.messenger.menu import menu_message
from bot.channels.messenger.messages import (
    MAX_QUICK_REPLIES,
    Button,
    OutMessage,
    QuickReply,
    html_to_text,
    quick_reply_page,
    short_title,
)
from bot.channels.messenger.router import MessengerRouter
from bot.channels.telegram.callbacks import AGE_GROUP_NONE, parse_age_group
from bot.channels.telegram.onboarding import Step, next_step
from bot.channels.telegram.texts import age_group_label, privacy_full, privacy_summary
from bot.services import municipalities, residents
from models import AgeGroup, Municipality

router = MessengerRouter("onboarding")

GET_STARTED = "get_started"
LANGUAGES = {"lt": "Lietuvių", "en": "English"}


def intro() -> str:
    return _(
        "Hello! I am Dalyvauk, the participation bot of your municipality. Here you can "
        "answer polls, register for consultations and trainings, and send proposals to the "
        "municipality."
    )


def language_switch(locale: str) -> QuickReply:
    """The other language, in its own words."""
    other = "en" if locale == "lt" else "lt"
    return QuickReply(LANGUAGES[other], f"settings:lang:{other}")


def privacy_message(ctx: MessengerContext) -> OutMessage:
    replies = [
        QuickReply(short_title(_("I agree")), "onb:consent:yes"),
        QuickReply(short_title(_("I do not agree")), "onb:consent:no"),
    ]
    buttons: tuple[Button, ...] = ()
    url = ctx.settings.privacy_url
    if url:
        buttons = (Button(short_title(_("Privacy notice")), url=url),)
    else:
        replies.append(QuickReply(short_title(_("Privacy notice")), "onb:privacy"))
    replies.append(language_switch(ctx.locale))
    return OutMessage(
        text=html_to_text(privacy_summary()), quick_replies=tuple(replies), buttons=buttons
    )


def fold(text: str) -> str:
    """Case and diacritics ignored: "PAGĖGIŲ" and "pagegiu" are the same."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def municipality_titles(
    items: list[Municipality], locale: str, prefix: str = "onb"
) -> list[QuickReply]:
    """``{prefix}:mun:<id>`` replies (the settings flow uses its own prefix)."""
    return [QuickReply(short_title(m.short_name(locale)), f"{prefix}:mun:{m.id}") for m in items]


async def municipality_message(
    session: AsyncSession,
    locale: str,
    page: int = 0,
    text: str | None = None,
    prefix: str = "onb",
) -> OutMessage:
    """The chooser: ``{prefix}:mun:<id>`` replies, ``{prefix}:munp:<page>`` for "Daugiau"."""
    active = await municipalities.list_active(session, locale)
    pages = max(1, -(-len(active) // (MAX_QUICK_REPLIES - 1)))
    page = min(max(page, 0), pages - 1)
    replies = quick_reply_page(
        municipality_titles(active, locale, prefix), page, f"{prefix}:munp", _("More")
    )
    prompt = _("Which municipality do you live in?")
    hint = _("Choose it below or type its name.")
    return OutMessage(
        text=f"{text}\n\n{prompt} {hint}" if text else f"{prompt} {hint}", quick_replies=replies
    )


def match_municipalities(items: list[Municipality], typed: str) -> list[Municipality]:
    """The municipalities a typed name may mean: an exact name or code, else those whose
    name starts with the word's stem (Lithuanian endings vary: "Pagėgiai", "Pagėgių")."""
    word = fold(typed)
    if not word:
        return []
    exact = [
        m
        for m in items
        if word
        in {fold(m.code), fold(m.short_lt), fold(m.name_lt), fold(m.short_en), fold(m.name_en)}
    ]
    if exact:
        return exact
    stem = word[:-2] if len(word) > 5 else word
    if len(stem) < 3:
        return []
    return [
        m
        for m in items
        if any(fold(name).startswith(stem) for name in (m.short_lt, m.name_lt, m.short_en))
    ]


def age_message(text: str | None = None, prefix: str = "onb") -> OutMessage:
    prompt = _(
        "Which age group are you in? This helps the municipality hear people of all ages. "
        "You may skip this question."
    )
    replies = [
        QuickReply(short_title(age_group_label(g)), f"{prefix}:age:{g.value}") for g in AgeGroup
    ]
    replies.append(
        QuickReply(short_title(_("I'd rather not say")), f"{prefix}:age:{AGE_GROUP_NONE}")
    )
    return OutMessage(text=f"{text}\n\n{prompt}" if text else prompt, quick_replies=tuple(replies))


async def show_step(ctx: MessengerContext, text: str | None = None) -> None:
    """The prompt of the resident's next step (``text`` said first, in the same message)."""
    step = next_step(ctx.resident)
    if step is Step.CONSENT:
        if text:
            ctx.reply(text)
        ctx.reply(privacy_message(ctx))
    elif step is Step.MUNICIPALITY:
        ctx.reply(await municipality_message(ctx.session, ctx.locale, text=text))
    elif step is Step.AGE_GROUP:
        ctx.reply(age_message(text))
    else:
        ctx.reply(menu_message(text))


@router.not_onboarded()
async def lead(ctx: MessengerContext) -> None:
    """Anything from someone who has not finished onboarding: their current step; at the
    municipality step a typed name chooses it. A link into the bot is kept for later."""
    await deep_links.remember(ctx)
    step = next_step(ctx.resident)
    if step is Step.CONSENT:
        await show_step(ctx, intro())
        return
    if step is Step.MUNICIPALITY and ctx.text and not ctx.payload:
        await municipality_typed(ctx, ctx.text, choose_municipality)
        return
    await show_step(ctx)


async def municipality_typed(
    ctx: MessengerContext,
    typed: str,
    choose: Callable[[MessengerContext, int], Awaitable[None]],
    prefix: str = "onb",
) -> None:
    """A typed name: one match is chosen (``choose``), several are offered, none: the chooser."""
    active = await municipalities.list_active(ctx.session, ctx.locale)
    found = match_municipalities(active, typed)
    if len(found) == 1:
        await choose(ctx, found[0].id)
        return
    if found:
        ctx.reply(
            _("Which one do you mean?"),
            quick_replies=municipality_titles(found[:MAX_QUICK_REPLIES], ctx.locale, prefix),
        )
        return
    ctx.reply(
        await municipality_message(
            ctx.session,
            ctx.locale,
            text=_("I could not find a municipality by that name."),
            prefix=prefix,
        )
    )


@router.payload(GET_STARTED, before_onboarding=True)
async def get_started(ctx: MessengerContext) -> None:
    if ctx.resident.is_onboarded:
        ctx.reply(menu_message(_("Welcome back!")))
        if ctx.event.referral:
            await deep_links.open_param(ctx, ctx.event.referral)
        return
    await deep_links.remember(ctx)
    await show_step(ctx, intro())


@router.payload("onb:privacy", before_onboarding=True)
async def privacy_details(ctx: MessengerContext) -> None:
    ctx.reply(html_to_text(privacy_full()))
    await show_step(ctx)


@router.payload("onb:consent", before_onboarding=True)
async def consent(ctx: MessengerContext) -> None:
    if next_step(ctx.resident) is not Step.CONSENT:
        await show_step(ctx)
        return
    if ctx.args != ["yes"]:
        ctx.reply(
            _(
                "Without your consent we cannot keep your answers, so you cannot take part "
                "yet. If you change your mind, press „{agree}“."
            ).format(agree=_("I agree")),
            quick_replies=privacy_message(ctx).quick_replies,
        )
        return
    residents.give_consent(ctx.resident, source=deep_links.remembered(ctx))
    await show_step(ctx, _("Thank you! You agreed."))


@router.payload("onb:munp", before_onboarding=True)
async def municipality_page(ctx: MessengerContext) -> None:
    if next_step(ctx.resident) is not Step.MUNICIPALITY:
        await show_step(ctx)
        return
    page = int(ctx.args[0]) if ctx.args and ctx.args[0].isdigit() else 0
    ctx.reply(await municipality_message(ctx.session, ctx.locale, page))


async def choose_municipality(ctx: MessengerContext, municipality_id: int) -> None:
    if not await residents.set_municipality(ctx.session, ctx.resident, municipality_id):
        ctx.reply(
            await municipality_message(
                ctx.session,
                ctx.locale,
                text=_("This municipality cannot be chosen. Please choose another one."),
            )
        )
        return
    assert ctx.resident.municipality is not None
    name = ctx.resident.municipality.short_name(ctx.locale)
    await show_step(ctx, _("Your municipality: {name}").format(name=name))


@router.payload("onb:mun", before_onboarding=True)
async def municipality_chosen(ctx: MessengerContext) -> None:
    if next_step(ctx.resident) is not Step.MUNICIPALITY or not (ctx.args and ctx.args[0].isdigit()):
        await show_step(ctx, _("This button is no longer active."))
        return
    await choose_municipality(ctx, int(ctx.args[0]))


@router.payload("onb:age", before_onboarding=True)
async def age_group_chosen(ctx: MessengerContext) -> None:
    valid, group = parse_age_group(ctx.args[0] if ctx.args else "")
    if next_step(ctx.resident) is not Step.AGE_GROUP or not valid:
        await show_step(ctx, _("This button is no longer active."))
        return
    residents.set_age_group(ctx.resident, group)
    residents.finish_onboarding(ctx.resident)
    label = age_group_label(group) if group else _("not given")
    ctx.reply(_("Age group: {group}").format(group=label))
    ctx.reply(menu_message(_("Thank you, you are all set!")))
    await deep_links.open_remembered(ctx)


@router.payload("settings:lang", before_onboarding=True)
async def language(ctx: MessengerContext) -> None:
    """Without an argument: the choice; ``settings:lang:en`` switches."""
    code = ctx.args[0] if ctx.args else None
    if code not in LANGUAGES:
        ctx.reply(
            _("Choose the language:"),
            quick_replies=[QuickReply(name, f"settings:lang:{c}") for c, name in LANGUAGES.items()],
        )
        return
    residents.set_language(ctx.resident, code)
    ctx.locale = code
    with ctx.services.i18n.use_locale(code):
        await show_step(ctx, _("Language: {language}").format(language=LANGUAGES[code]))
