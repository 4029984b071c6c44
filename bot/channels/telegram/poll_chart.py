"""Bar charts of a poll's results, as PNG images readable on a phone.

One chart per choice or scale question: horizontal bars with the option texts (long ones
wrapped), the number of votes and the percentage at the end of each bar, the question as
the title. 1080 pixels wide with text of 17–22 pt, so a phone shows it without zooming.

:func:`chart_spec` builds the texts (gettext, so call it where the locale is set);
:func:`render_png` draws them with matplotlib's Agg renderer and no pyplot (no global
figure state, nothing shown, no network), so it can run in a worker thread. The font is
DejaVu Sans, which ships with matplotlib and has every Lithuanian letter.
:func:`send_charts` draws them in a worker thread and sends them; call it outside a
database transaction (``after_commit`` in a handler).
"""

from __future__ import annotations

import asyncio
import io
import logging
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile
from aiogram.utils.i18n import gettext as _

from bot.channels.telegram.poll_results import (
    chart_caption,
    mean_text,
    percent,
    residents_answered,
    votes,
)
from bot.services.polls import PollTally, QuestionTally
from models import QuestionKind

logger = logging.getLogger(__name__)

WIDTH_PX = 1080
DPI = 100
FONT = "DejaVu Sans"
TITLE_PT = 22
TEXT_PT = 18
NOTE_PT = 17
LABEL_WRAP = 24  # characters per line of an option text
TITLE_WRAP = 52
BAR_COLOUR = "#2b6cb0"
TEXT_COLOUR = "#1a202c"
NOTE_COLOUR = "#4a5568"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    count: int
    value: str  # "21 balsas (46,7 %)"


@dataclass(frozen=True, slots=True)
class ChartSpec:
    title: str
    subtitle: str
    bars: tuple[Bar, ...]


def chart_spec(question: QuestionTally, locale: str) -> ChartSpec | None:
    """What to draw for a question; None for a written-answers question."""
    if question.kind is QuestionKind.TEXT:
        return None
    notes = [residents_answered(question.respondents, locale)]
    if question.kind is QuestionKind.SCALE:
        bars = tuple(
            Bar(str(s.value), s.count, f"{votes(s.count, locale)} ({percent(s.percent, locale)})")
            for s in reversed(question.scale)
        )
        if question.mean is not None:
            notes.append(_("Average: {mean}").format(mean=mean_text(question.mean, locale)))
    else:
        bars = tuple(
            Bar(o.text, o.count, f"{votes(o.count, locale)} ({percent(o.percent, locale)})")
            for o in question.options
        )
        if question.kind is QuestionKind.MULTIPLE:
            notes.append(_("several answers allowed"))
    return ChartSpec(f"{question.position}. {question.text}", " · ".join(notes), bars)


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart to send: what to draw, the photo's caption and its file name."""

    spec: ChartSpec
    caption: str
    filename: str


def charts_of(poll_id: int, tally: PollTally, locale: str) -> list[Chart]:
    """A chart per choice or scale question, in question order; none before any answer."""
    if not tally.respondents:
        return []
    return [
        Chart(spec, chart_caption(question), f"apklausa_{poll_id}_{question.position}.png")
        for question in tally.questions
        if (spec := chart_spec(question, locale)) is not None
    ]


async def send_charts(bot: Bot, chat_id: int, charts: Sequence[Chart]) -> str | None:
    """Draw each chart in a worker thread (the event loop keeps serving) and send it.

    Returns the Telegram file id of the first chart, so it can be sent again without a new
    upload; None when it could not be sent. Stops at the first refusal."""
    first: str | None = None
    for index, chart in enumerate(charts):
        png = await asyncio.to_thread(render_png, chart.spec)
        try:
            message = await bot.send_photo(
                chat_id, BufferedInputFile(png, filename=chart.filename), caption=chart.caption
            )
        except TelegramAPIError as exc:
            logger.warning("chart to chat %s failed: %s", chat_id, type(exc).__name__)
            break
        if index == 0 and message.photo:
            first = message.photo[-1].file_id
    return first


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width, break_long_words=True)) or " "


def render_png(spec: ChartSpec) -> bytes:
    """The chart as PNG bytes, ``WIDTH_PX`` wide, as tall as the bars need."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    labels = [_wrap(bar.label, LABEL_WRAP) for bar in spec.bars]
    title = _wrap(spec.title, TITLE_WRAP)
    label_lines = sum(label.count("\n") + 1 for label in labels)
    title_lines = title.count("\n") + 1
    height_in = 1.6 + 0.45 * title_lines + 0.45 * label_lines + 0.45 * len(spec.bars)

    text_font = FontProperties(family=FONT, size=TEXT_PT)
    figure = Figure(figsize=(WIDTH_PX / DPI, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(
        title,
        fontproperties=FontProperties(family=FONT, size=TITLE_PT, weight="bold"),
        color=TEXT_COLOUR,
        x=0.02,
        horizontalalignment="left",
    )
    axes = figure.add_subplot()
    axes.set_title(
        spec.subtitle,
        fontproperties=FontProperties(family=FONT, size=NOTE_PT),
        color=NOTE_COLOUR,
        loc="left",
    )
    positions = list(range(len(spec.bars)))
    counts = [bar.count for bar in spec.bars]
    axes.barh(positions, counts, color=BAR_COLOUR, height=0.6)
    axes.set_yticks(positions, labels)
    for tick in axes.get_yticklabels():
        tick.set_fontproperties(text_font)
        tick.set_color(TEXT_COLOUR)
    axes.invert_yaxis()  # the first option on top
    top = max(counts, default=0)
    # Room after the longest bar for its label ("123 balsai (45,6 %)").
    axes.set_xlim(0, max(top, 1) * 1.75)
    for position, bar in zip(positions, spec.bars, strict=True):
        axes.annotate(
            bar.value,
            (bar.count, position),
            xytext=(8, 0),
            textcoords="offset points",
            verticalalignment="center",
            fontproperties=text_font,
            color=TEXT_COLOUR,
        )
    axes.set_xticks([])
    axes.tick_params(axis="y", length=0)
    for side in ("top", "right", "bottom"):
        axes.spines[side].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()
