"""What a band is told about time and its wearer: time_sync and profile downlink fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

TZ_OFFSET_MIN = 480  # China Standard Time (UTC+8): the zone every deadline is computed in
# The band refuses a profile outside these (firmware/control.py, protocol/README.md §6).
AGE_RANGE = (10, 110)
WEIGHT_RANGE = (20, 250)
REST_HR_RANGE = (30, 120)
SEX_CODES = {"male": 1, "female": 2}  # the Keytel et al. 2005 equations differ by sex


def time_sync_fields() -> dict[str, int]:
    """Fields of a time_sync downlink; the UTC time itself is the message header's."""
    return {"tz_offset_min": TZ_OFFSET_MIN}


def birth_date(person: dict[str, Any]) -> dt.date | None:
    """The registered birth date, else the one inside an 18-digit resident ID number."""
    if person.get("birth_date"):
        return dt.date.fromisoformat(str(person["birth_date"]))
    number = str(person.get("id_number") or "")
    if len(number) != 18:
        return None
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def age_on(born: dt.date, today: dt.date) -> int:
    """Whole years of age on a date."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def profile_fields(
    person: dict[str, Any], weight_kg: int | None, rest_hr: int | None, today: dt.date
) -> dict[str, int] | None:
    """Fields of a profile downlink, or None when the data for the energy estimate is missing.

    The band estimates energy from sex, age, weight and resting heart rate; weight and resting
    rate are measured at the office when the band is handed over (they are not kept in the case).
    """
    sex = SEX_CODES.get(str(person.get("gender")))
    born = birth_date(person)
    if sex is None or born is None or weight_kg is None or rest_hr is None:
        return None
    age = age_on(born, today)
    if not (
        AGE_RANGE[0] <= age <= AGE_RANGE[1]
        and WEIGHT_RANGE[0] <= weight_kg <= WEIGHT_RANGE[1]
        and REST_HR_RANGE[0] <= rest_hr <= REST_HR_RANGE[1]
    ):
        return None
    return {"sex": sex, "age": age, "weight_kg": weight_kg, "rest_hr": rest_hr}
