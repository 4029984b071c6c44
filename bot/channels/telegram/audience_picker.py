"""Choosing who receives something: all residents, some municipalities, some age groups.

Announcements, polls and events ask organizers the same question with the same buttons,
counting the residents the choice reaches; only a few words differ (:class:`Wording`). This
module has what they share: the callback data, the part of a draft that holds the choice,
the texts and the keyboards. ``handlers/audience_picker.py`` has the handlers.

Every button carries the flow it belongs to and the draft's id, so a button of another flow
or of an earlier draft changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Self

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.channels.telegram.keyboards import MUNICIPALITIES_PER_PAGE, page_count
from bot.channels.telegram.texts import age_group_label
from bot.i18n import number
from bot.services.audiences import Audience
from models import AgeGroup, Municipality

SELECTED = "✓ "


class Flow(StrEnum):
    """What the audience is chosen for (one letter: callback data allows 64 bytes)."""

    ANNOUNCEMENT = "a"
    POLL = "p"
    EVENT = "e"


class AudienceButton(CallbackData, prefix="aud_"):
    """What every button of the question carries: the flow, and the draft's id (which ties
    the button to one composition). Only its subclasses are sent."""

    flow: Flow
    draft: int


class AudienceCb(AudienceButton, prefix="aud"):
    action: str  # menu (the question again), municipalities, ages; everyone, done (chosen)


class AudienceMunicipalityCb(AudienceButton, prefix="audm"):
    """Add or remove a municipality; ``page`` is the page of the list it is on."""

    id: int
    page: int


class AudiencePageCb(AudienceButton, prefix="audp"):
    page: int


class AudienceAgeCb(AudienceButton, prefix="auda"):
    group: str  # an AgeGroup value


@dataclass
class AudienceDraft:
    """A draft kept in the conversation state (FSM data) that chooses an audience.

    ``id`` ties the buttons to one composition; empty lists mean all residents. Subclasses
    add their own fields (with defaults) and the key of their FSM data.
    """

    KEY: ClassVar[str] = "draft"

    id: int
    municipality_ids: list[int] = field(default_factory=list)
    age_groups: list[str] = field(default_factory=list)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self | None:
        """The draft in the conversation state, or None if there is none (or it is unusable)."""
        try:
            return cls(**data[cls.KEY])
        except (KeyError, TypeError):
            return None

    def to_data(self) -> dict[str, Any]:
        return {self.KEY: asdict(self)}

    @property
    def audience(self) -> Audience:
        return Audience(
            municipality_ids=frozenset(self.municipality_ids),
            age_groups=frozenset(AgeGroup(g) for g in self.age_groups),
        )

    def choose_everyone(self) -> None:
        self.municipality_ids, self.age_groups = [], []


def toggled(values: Sequence[Any], value: Any) -> list[Any]:
    return [v for v in values if v != value] if value in values else [*values, value]


def residents_count(count: int, locale: str) -> str:
    return _("{count} resident", "{count} residents", count).format(count=number(count, locale))


@dataclass(frozen=True)
class Wording:
    """The words a flow puts around the choice, as calls of gettext (made when shown)."""

    question: Callable[[], str]  # the heading: who should receive it
    reach: Callable[[str], str]  # given "5 residents": who the choice reaches
    counted: Callable[[], str]  # whose message preferences are respected


@dataclass(frozen=True)
class AudiencePicker:
    """The texts and keyboards of one flow's audience question."""

    flow: Flow
    wording: Wording

    def lines(
        self,
        municipalities: Sequence[Municipality],
        age_groups: Collection[str],
        count: int,
        locale: str,
    ) -> str:
        """What is chosen and how many residents it reaches."""
        names = ", ".join(m.short_name(locale) for m in municipalities) or _("all")
        ages = ", ".join(age_group_label(g) for g in AgeGroup if g.value in age_groups) or _("all")
        return "\n".join(
            [
                _("Municipalities: {names}").format(names=names),
                _("Age groups: {ages}").format(ages=ages),
                self.wording.reach(residents_count(count, locale)),
            ]
        )

    def text(self, lines: str) -> str:
        return "\n\n".join([self.wording.question(), lines, self.wording.counted()])

    def _button(self, draft: AudienceDraft, action: str) -> AudienceCb:
        return AudienceCb(flow=self.flow, draft=draft.id, action=action)

    def keyboard(self, draft: AudienceDraft) -> InlineKeyboardMarkup:
        builder = InlineKeyboardBuilder()
        builder.button(text=_("All residents"), callback_data=self._button(draft, "everyone"))
        builder.button(
            text=_("Choose municipalities"), callback_data=self._button(draft, "municipalities")
        )
        builder.button(text=_("Choose age groups"), callback_data=self._button(draft, "ages"))
        if draft.municipality_ids or draft.age_groups:
            builder.button(text=_("Continue"), callback_data=self._button(draft, "done"))
        builder.adjust(1)
        return builder.as_markup()

    def _back(self, draft: AudienceDraft) -> InlineKeyboardButton:
        """The button under a list ("Continue"): back to the question, the choice shown."""
        return InlineKeyboardButton(
            text=_("Continue"), callback_data=self._button(draft, "menu").pack()
        )

    @staticmethod
    def municipality_text(lines: str) -> str:
        return _(
            "<b>Choose municipalities</b>\nPress a municipality to add it or to remove it, "
            "then press “{done}”.\n\n{lines}"
        ).format(done=_("Continue"), lines=lines)

    def municipality_keyboard(
        self, draft: AudienceDraft, municipalities: Sequence[Municipality], locale: str, page: int
    ) -> InlineKeyboardMarkup:
        """One page of the list, chosen municipalities marked, arrows when there are more."""
        builder = InlineKeyboardBuilder()
        pages = page_count(len(municipalities))
        page = min(max(page, 0), pages - 1)
        first = page * MUNICIPALITIES_PER_PAGE
        for item in municipalities[first : first + MUNICIPALITIES_PER_PAGE]:
            mark = SELECTED if item.id in draft.municipality_ids else ""
            builder.button(
                text=mark + item.short_name(locale),
                callback_data=AudienceMunicipalityCb(
                    flow=self.flow, draft=draft.id, id=item.id, page=page
                ),
            )
        builder.adjust(2)
        if pages > 1:
            builder.row(
                *(
                    InlineKeyboardButton(
                        text=label,
                        callback_data=AudiencePageCb(
                            flow=self.flow, draft=draft.id, page=target
                        ).pack(),
                    )
                    for label, target in (
                        ("◀", (page - 1) % pages),
                        (f"{page + 1} / {pages}", page),
                        ("▶", (page + 1) % pages),
                    )
                )
            )
        builder.row(self._back(draft))
        return builder.as_markup()

    @staticmethod
    def age_text(lines: str) -> str:
        return _(
            "<b>Choose age groups</b>\nPress an age group to add it or to remove it, then press "
            "“{done}”. Residents who did not give their age group are not in any of them."
            "\n\n{lines}"
        ).format(done=_("Continue"), lines=lines)

    def age_keyboard(self, draft: AudienceDraft) -> InlineKeyboardMarkup:
        builder = InlineKeyboardBuilder()
        for group in AgeGroup:
            mark = SELECTED if group.value in draft.age_groups else ""
            builder.button(
                text=mark + age_group_label(group),
                callback_data=AudienceAgeCb(flow=self.flow, draft=draft.id, group=group.value),
            )
        builder.adjust(2)
        builder.row(self._back(draft))
        return builder.as_markup()
