"""All SQL of the cloud lives in this package: one Store made of parts per domain."""

from __future__ import annotations

from cloud.store.anchors import AnchorStore
from cloud.store.base import NotFoundError, Row
from cloud.store.cases import CaseStore
from cloud.store.frames import BatchResult, CasConflictError, FrameStore, Rejected, Verified
from cloud.store.keys import KeyStore
from cloud.store.people import PeopleStore


class Store(FrameStore, CaseStore, PeopleStore, KeyStore, AnchorStore):
    """The cloud's database (SQLite, WAL); `tx()` makes a request one transaction."""


__all__ = [
    "BatchResult",
    "CasConflictError",
    "NotFoundError",
    "Rejected",
    "Row",
    "Store",
    "Verified",
]
