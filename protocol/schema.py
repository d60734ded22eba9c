"""Payload layouts of every uplink frame type (big-endian, fixed length per type)."""

import struct

# Enumerations. Codes are append-only: a receiver refuses values it does not know.
SOS_BUTTON = 1  # long press of the SOS button
SOS_FALL = 2  # impact followed by stillness
SOS_HEALTH = 3  # heart rate outside the safe range while worn
SOS_REASONS = (SOS_BUTTON, SOS_FALL, SOS_HEALTH)

TAMPER_STRAP_OPEN = 1
TAMPER_STRAP_CLOSED = 2
TAMPER_OFF_SKIN = 3
TAMPER_ON_SKIN = 4
TAMPER_CASE_OPEN = 5
TAMPER_EVENTS = (1, 2, 3, 4, 5)

BATTERY_LOW = 1  # <= 20 %
BATTERY_CRITICAL = 2  # <= 5 %: the band is about to stop
BATTERY_CHARGING = 3
BATTERY_CHARGED = 4
BATTERY_EVENTS = (1, 2, 3, 4)

MODE_NORMAL = 0
MODE_SESSION = 1  # community-service session running
MODES = (MODE_NORMAL, MODE_SESSION)

SESSION_START = 1
SESSION_END = 2
SESSION_ABORTED = 3  # strap opened or band removed during the session
SESSION_EVENTS = (1, 2, 3)

# Results a band reports for a downlink it received.
RESULT_OK = 0
RESULT_BAD_TAG = 1
RESULT_REPLAY = 2
RESULT_UNSUPPORTED = 3
RESULT_BAD_VALUE = 4
RESULTS = (0, 1, 2, 3, 4)

CONFIG_PRESENCE = 0x01  # hubs may record this band's presence (Art. 29 order in force)
CONFIG_SOS_LOCATION = 0x02  # the person opted in to send the last hub heard with an SOS
CONFIG_BITS = tuple(range(4))
BOOL = (0, 1)

# type id: (name, struct format, field names, enumerated fields, bytes fields {name: length})
_LAYOUTS: tuple = (
    (
        0x01,
        "enrol",
        ">16s8sHBB",
        ("nonce", "confirm", "fw_version", "hw_rev", "capabilities"),
        {},
        {"nonce": 16, "confirm": 8},
    ),
    (
        0x02,
        "activity",
        ">HHHBBBHHHHHH",
        (
            "window_s",
            "steps",
            "kcal_x10",
            "hr_mean",
            "hr_min",
            "hr_max",
            "hr_valid_s",
            "worn_s",
            "rest_s",
            "walk_s",
            "labour_s",
            "session_id",
        ),
        {},
        {},
    ),
    (
        0x03,
        "sos",
        ">HBBBIbH",
        ("sos_id", "reason", "battery_pct", "attempt", "hub_id", "hub_rssi", "hub_age_s"),
        {"reason": SOS_REASONS},
        {},
    ),
    (
        0x04,
        "tamper",
        ">BBBBH",
        ("event", "strap_closed", "on_skin", "battery_pct", "duration_s"),
        {"event": TAMPER_EVENTS, "strap_closed": BOOL, "on_skin": BOOL},
        {},
    ),
    (
        0x05,
        "heartbeat",
        ">IBHBBHIIH",
        (
            "uptime_s",
            "battery_pct",
            "battery_mv",
            "mode",
            "config",
            "queue_depth",
            "dropped_total",
            "last_downlink",
            "fw_version",
        ),
        {"mode": MODES, "config": CONFIG_BITS},
        {},
    ),
    (
        0x06,
        "battery",
        ">BBHbH",
        ("event", "battery_pct", "battery_mv", "temp_c", "est_hours"),
        {"event": BATTERY_EVENTS},
        {},
    ),
    (
        0x07,
        "session",
        ">HBIIIBBII",
        (
            "session_id",
            "event",
            "elapsed_s",
            "steps",
            "kcal_x10",
            "hr_mean",
            "hr_max",
            "labour_s",
            "worn_s",
        ),
        {"event": SESSION_EVENTS},
        {},
    ),
    (
        0x08,
        "cmd_result",
        ">IBB",
        ("downlink_counter", "downlink_type", "result"),
        {"result": RESULTS},
        {},
    ),
)


def _field_codes(fmt):
    """One struct code per field: '>16s8sH' -> ('s', 's', 'H')."""
    codes = []
    for ch in fmt[1:]:
        if not ("0" <= ch <= "9"):
            codes.append(ch)
    return tuple(codes)


# type id -> (name, payload size, format, names, enumerated, bytes fields, struct codes)
PAYLOADS = {}
TYPE_IDS = {}
for _row in _LAYOUTS:
    PAYLOADS[_row[0]] = (
        _row[1],
        struct.calcsize(_row[2]),
        _row[2],
        _row[3],
        _row[4],
        _row[5],
        _field_codes(_row[2]),
    )
    TYPE_IDS[_row[1]] = _row[0]

# Inclusive ranges of the integer struct codes, checked when encoding (MicroPython's
# struct.pack would silently wrap an out-of-range value).
INT_RANGES = {
    "B": (0, 0xFF),
    "b": (-0x80, 0x7F),
    "H": (0, 0xFFFF),
    "h": (-0x8000, 0x7FFF),
    "I": (0, 0xFFFFFFFF),
    "i": (-0x80000000, 0x7FFFFFFF),
}
