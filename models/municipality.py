from __future__ import annotations

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Municipality(Base):
    """One of Lithuania's 60 municipalities (reference data from municipalities.csv)."""

    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(3), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name_lt: Mapped[str] = mapped_column(String(100))
    short_lt: Mapped[str] = mapped_column(String(20))
    name_en: Mapped[str] = mapped_column(String(100))
    short_en: Mapped[str] = mapped_column(String(20))
    partners: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def short_name(self, locale: str) -> str:
        return self.short_en if locale == "en" else self.short_lt

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_lt
