"""The bank's organisation: head office → sub-branches → outlets; inspection agencies."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Numeric, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopper.db import Base


class SubBranch(Base):
    __tablename__ = "sub_branches"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    outlets: Mapped[list[Outlet]] = relationship(
        back_populates="sub_branch", order_by="Outlet.code"
    )


class Feature(Base):
    """Something an outlet may or may not have (a VIP room, a self-service area …).

    Head office keeps the list; checklist items name the features they need, so an
    outlet without one has those items answered N/A before the visit.
    """

    __tablename__ = "features"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))

    def name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh


outlet_features = Table(
    "outlet_features",
    Base.metadata,
    Column("outlet_id", ForeignKey("outlets.id"), primary_key=True),
    Column("feature_code", ForeignKey("features.code"), primary_key=True),
)


class Outlet(Base):
    __tablename__ = "outlets"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    sub_branch_id: Mapped[int] = mapped_column(ForeignKey("sub_branches.id"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    timezone: Mapped[str] = mapped_column(String(60), default="Asia/Shanghai")
    # the language its notices are written in
    language: Mapped[str] = mapped_column(String(10), default="zh_CN", server_default="zh_CN")
    # where the outlet is, for the inspector's optional check-in on arrival
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))

    sub_branch: Mapped[SubBranch] = relationship(back_populates="outlets")
    features: Mapped[list[Feature]] = relationship(
        secondary=outlet_features, order_by="Feature.code"
    )

    @property
    def feature_codes(self) -> frozenset[str]:
        return frozenset(f.code for f in self.features)


class Agency(Base):
    """A third-party inspection agency; its inspectors see only their assignments."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
