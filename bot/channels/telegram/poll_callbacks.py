"""Callback data of the poll buttons residents press (ids only: Telegram allows 64 bytes).

Shared by the answering handlers, the invitations and the benchmark, so keep them stable.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class PollOpenCb(CallbackData, prefix="po"):
    """Open (or continue) a poll: from the Apklausos list or an invitation."""

    poll: int


class PollChoiceCb(CallbackData, prefix="pc"):
    """Single choice: answer ``question`` with ``option`` (option id)."""

    question: int
    option: int


class PollToggleCb(CallbackData, prefix="pt"):
    """Multiple choice: set ``option`` of ``question`` to ``on`` (1) or off (0); the state
    travels in the button so a double tap sets the same value twice."""

    question: int
    option: int
    on: int


class PollSubmitCb(CallbackData, prefix="ps"):
    """Multiple choice: submit the ticked options of ``question``."""

    question: int


class PollScaleCb(CallbackData, prefix="pv"):
    """Scale 1–5: answer ``question`` with ``value``."""

    question: int
    value: int
