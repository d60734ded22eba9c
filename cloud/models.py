"""Request and response models, one per use (create / act / public)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
_ID_RE = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def check_id_number(value: str) -> str:
    """A PRC resident ID number (18 characters, GB 11643 check digit)."""
    value = value.strip().upper()
    if not _ID_RE.match(value):
        raise ValueError(
            "ID number must be 17 digits and a check digit (0-9 or X) / 身份证号格式错误"
        )
    total = sum(int(c) * w for c, w in zip(value[:17], _WEIGHTS, strict=True))
    if "10X98765432"[total % 11] != value[17]:
        raise ValueError("ID number check digit is wrong / 身份证号校验位错误")
    return value


class Strict(BaseModel):
    """Unknown fields are refused, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class UnitCreate(Strict):
    kind: Literal["county", "office", "village", "procuratorate", "police", "court", "other"]
    name: Name
    parent_id: int | None = None
    code: str | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class UserCreate(Strict):
    username: Name
    display_name: Name
    role: Literal["village", "office", "county_head", "procuratorate", "admin"]
    unit_id: int | None = None
    password: str = Field(min_length=10, max_length=200)


class PersonAccount(Strict):
    password: str = Field(min_length=10, max_length=200)


class PasswordChange(Strict):
    old_password: str
    new_password: str = Field(min_length=10, max_length=200)


class Login(Strict):
    username: Name
    password: str = Field(min_length=1, max_length=200)


class PersonIn(Strict):
    name: Name
    id_number: str
    gender: Literal["male", "female", "other"]
    birth_date: dt.date | None = None
    phone: str | None = Field(None, max_length=30)
    address: str | None = Field(None, max_length=300)

    _id = field_validator("id_number")(check_id_number)


class CaseCreate(Strict):
    """Documents received from the deciding authority (law Art. 20): opens a case."""

    person: PersonIn
    case_type: Literal["control", "probation", "parole", "medical_parole"]
    authority_kind: Literal["court", "prison_admin", "police"]
    authority_name: Name
    judgment_no: Name
    effective_on: dt.date
    term_start: dt.date
    term_end: dt.date
    office_id: int
    village_id: int
    # The deciding authority's own duties (Art. 20): notice in 5 days, documents in 10. Opening
    # a case usually means the documents arrived (today unless given); or only the notice did.
    notice_received_on: dt.date | None = None
    documents_received_on: dt.date | None = None
    documents_pending: bool = False

    @model_validator(mode="after")
    def _term(self) -> CaseCreate:
        if self.term_end <= self.term_start:
            raise ValueError("term_end must be after term_start / 矫正期限结束须晚于开始")
        if self.documents_pending and self.documents_received_on is not None:
            raise ValueError(
                "documents are either pending or received on a date / 法律文书未送达与送达日期矛盾"
            )
        return self


class ReportAct(Strict):
    reported_on: dt.date
    note: Note = ""


class ReceiveAct(Strict):
    identity_checked: bool
    documents_checked: bool = True
    file_no: Name
    note: Note = ""


class AnnounceAct(Strict):
    held_at: dt.datetime
    place: Name
    attendees: list[Name] = Field(min_length=1)
    police_station: Name
    village_committee: Name


class SupervisionAct(Strict):
    class_level: Literal["strict", "normal", "lenient"]
    plan: Text
    team: list[Name] = Field(min_length=1, description="矫正小组 members (Art. 25)")


class ReleaseAct(Strict):
    certificate_no: Name
    released_on: dt.date
    note: Note = ""


class TerminateAct(Strict):
    reason: Literal["revoked_probation", "revoked_parole", "imprisoned", "died"]
    document_no: str = ""
    on: dt.date
    note: Note = ""


class TransferAct(Strict):
    new_county: Name
    new_address: Text
    decided_on: dt.date
    reason: Text


class CheckinCreate(Strict):
    method: Literal["office", "visit", "phone", "kiosk", "video"]
    at: dt.datetime | None = None
    place: str = Field("", max_length=200)
    note: Note = ""


class LeaveCreate(Strict):
    starts_on: dt.date
    ends_on: dt.date
    destination: Name
    reason: Text

    @model_validator(mode="after")
    def _order(self) -> LeaveCreate:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on / 结束日期早于开始日期")
        return self


class LeaveDecision(Strict):
    approve: bool
    note: Note = ""


class SanctionCreate(Strict):
    kind: Literal[
        "praise",
        "admonition",
        "warning",
        "police_penalty",
        "revoke_probation",
        "revoke_parole",
        "imprison",
    ]
    reason: Text
    evidence: list[Text] = []


class SanctionDecision(Strict):
    approve: bool
    note: Note = ""


class SanctionRuling(Strict):
    outcome: Literal["granted", "refused"]
    document_no: Name
    ruled_on: dt.date


class OrderCreate(Strict):
    ground: int = Field(ge=1, le=5, description="Art. 29 ground 1-5")
    reason: Text
    starts_on: dt.date
    ends_on: dt.date
    renewal_of: int | None = None
    assessment: Note = ""


class OrderDecision(Strict):
    approve: bool
    note: Note = ""


class OrderEnd(Strict):
    reason: Text


class AlertResolve(Strict):
    note: Text


class AlertSuspend(Strict):
    person_id: int
    kind: str
    reason: Text
    hours: int = Field(ge=1, le=24 * 90)


class AssessmentCreate(Strict):
    requester_kind: Literal["court", "procuratorate", "police", "prison"]
    requester_name: Name
    request_no: Name
    received_on: dt.date
    fast_track: bool = False
    office_id: int
    subject_name: Name
    subject_id_number: str

    _id = field_validator("subject_id_number")(check_id_number)


class VisitCreate(Strict):
    visited_on: dt.date
    place: Name
    notes: Text
    photos: list[str] = []
    signatures: list[Name] = []


class OpinionReturn(Strict):
    recommendation: Literal["suitable", "unsuitable"]
    opinion: Text
    returned_on: dt.date


class NoticeFile(Strict):
    text: Text
    case_id: int | None = None


class NoticeAnswer(Strict):
    response: Text
    adopted: bool


class HubCreate(Strict):
    hub_id: int = Field(ge=1, le=0xFFFFFFFF)
    name: Name
    unit_id: int
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    address: str = Field("", max_length=300)


class BandAssign(Strict):
    person_id: int | None
    sos_location: bool = False
    # Measured at hand-over for the band's energy estimate (profile downlink); not stored.
    weight_kg: int | None = Field(None, ge=20, le=250)
    rest_hr: int | None = Field(None, ge=30, le=120)


class EnrolmentStart(Strict):
    band_id: int = Field(ge=0, le=0xFFFFFFFF)
    public_key: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class EnrolmentComplete(Strict):
    frame: str = Field(pattern=r"^[0-9a-fA-F]{172,222}$")


class DocumentsReceived(Strict):
    """The deciding authority's documents arrived after the case was opened on its notice."""

    received_on: dt.date
    note: Note = ""


class LeaveReturn(Strict):
    """销假: the person is back and reported in (today unless a date is given)."""

    returned_on: dt.date | None = None
    note: Note = ""


class ResidenceChangeCreate(Strict):
    """迁居 within the county (Art. 27): a new village, address and moving date."""

    to_village_id: int
    new_address: Address
    moves_on: dt.date
    reason: Text


class ResidenceDecision(Strict):
    approve: bool
    note: Note = ""


class ArrestRequestCreate(Strict):
    """Art. 47: ask the court to arrest, with a revocation proposal."""

    ground: Literal["flight", "danger"]
    facts: Text
    court: Name


class ArrestDecision(Strict):
    """The court's decision on an arrest request, as the bureau received it."""

    arrested: bool
    document_no: Name
    decided_at: dt.datetime


class RekeyAuthorize(Strict):
    """An administrator allows one enrolment of a new key for a known band (protocol §6.1)."""

    reason: Text
    compromised: bool = False  # the old key may be cloned: refuse its frames from now on


class BandRetire(Strict):
    reason: Note = ""


class UserDisable(Strict):
    reason: Text


class PasswordReset(Strict):
    """A new password set by an administrator (generated when empty); changed at next login."""

    password: str | None = Field(None, min_length=10, max_length=200)


class HubUpdate(Strict):
    """Where a hub hangs and which unit it serves (its registered position locates SOS)."""

    name: Name
    unit_id: int
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    address: str = Field("", max_length=300)


class AnchorCheck(Strict):
    """Anchors the procuratorate holds, and the public key it holds, to check the chain with."""

    public_key: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    anchors: list[dict[str, Any]] = Field(min_length=1, max_length=100_000)
