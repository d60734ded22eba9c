"""The silence job over a county of many bands: only worn, silent bands of open cases alert."""

from __future__ import annotations

import json
import os

from cloud import jobs
from cloud.testkit import County, id_number

HOUR = 3600


def test_only_the_silent_bands_of_open_cases_are_alerted() -> None:
    c = County()
    try:
        now = int(c.now)
        people = []
        for seq in range(4):
            case_id = c.open_case("supervising", id_number=id_number(seq + 1))
            people.append(c.call("office", "GET", f"/api/v1/cases/{case_id}").json()["person_id"])
        s = c.rt.store
        old = now - 2 * HOUR  # past band_silent_s (30 min)
        rows = []
        for i in range(300):  # unworn bands, long silent: never alerted
            rows.append((1000 + i, None, old - 86400, old, 1))
        rows += [
            (2000, people[0], old - 86400, old, 1),  # silent
            (2001, people[1], old - 86400, now - 60, 1),  # heard a minute ago
            (2002, people[2], old - 86400, None, 1),  # never heard since enrolment long ago
            (2003, people[3], old - 86400, old, 1),  # silent, but its case is closed below
            (2004, people[1], old - 86400, old, 0),  # retired band of a person still heard
            (2005, people[2], now - 60, None, 1),  # enrolled a minute ago, nothing yet
        ]
        with s.tx():
            s.conn.executemany(
                "INSERT INTO bands (band_id, public_key, dl_key, person_id, enrolled_at, "
                "last_frame_at, active) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(b, os.urandom(32), os.urandom(32), p, e, f, a) for b, p, e, f, a in rows],
            )
            s.x("UPDATE cases SET closed_at = ? WHERE person_id = ?", (now - HOUR, people[3]))
        assert jobs.check_silence(c.rt, now) == 2
        alerts = s.q("SELECT * FROM alerts WHERE kind = 'band_silent' ORDER BY id")
        got = {(a["person_id"], json.loads(a["detail"])["band_id"]) for a in alerts}
        assert got == {(people[0], 2000), (people[2], 2002)}
        assert json.loads(alerts[0]["detail"])["silent_s"] == 2 * HOUR
        assert jobs.check_silence(c.rt, now) == 2  # still silent: the alerts fold
        assert s.one("SELECT count(*) AS n FROM alerts WHERE kind = 'band_silent'")["n"] == 2
    finally:
        c.close()
