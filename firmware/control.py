"""CONTROL writes from the hub: acknowledgements, hub hello, enrolment and cloud downlinks."""

import struct

from firmware import board, duty
from firmware.summary import Session
from protocol import downlink, gatt, replay, schema
from protocol.errors import BAD_SIGNATURE, REPLAY, UNKNOWN_TYPE, FrameError
from protocol.x25519 import x25519_from_ed25519_scalar

SESSION_MAX_S = 12 * 3600  # a session longer than a working day is refused as a bad value
STALE_SYNC_S = 300  # a synced clock drifts ~2 s a day (32 kHz crystal): more is a delayed sync


def handle(band, data):
    """Dispatch one CONTROL write; malformed writes are counted, never fatal."""
    if not data:
        band.note("empty control write")
        return
    op = data[0]
    payload = data[1:]
    if op == gatt.OP_ACK and len(payload) == 4:
        band.acked(struct.unpack(">I", payload)[0])
    elif op == gatt.OP_HUB_HELLO and len(payload) in (8, 9):
        _hello(band, payload)
    elif op == gatt.OP_DOWNLINK:
        _downlink(band, bytes(payload))
    elif op == gatt.OP_ENROL_CHALLENGE and len(payload) == 48:
        _enrol(band, payload[:16], payload[16:])
    else:
        band.note("bad control op 0x%02x len %d" % (op, len(payload)))


def _hello(band, payload):
    hub_id = struct.unpack(">I", payload[:4])[0]
    # The hub's time is a hint from an untrusted party: never used to set the clock.
    if band.cfg[2] & schema.CONFIG_SOS_LOCATION:
        rssi = struct.unpack("b", payload[8:9])[0] if len(payload) == 9 else 0
        band.hub = (hub_id, rssi, band.uptime_s())
    else:
        band.hub = None  # without the opt-in the band keeps no trace of where it was
    band.hub_ready = True
    band.pump()


def _enrol(band, nonce, cloud_public):
    if band.dl_key is not None and band.charger.state() == 0:
        # Re-keying the downlink takes physical presence: the band must sit on its charger
        # (at the office); otherwise anyone in radio range could take over its downlink.
        band.note("enrol refused: already enrolled and not on the charger")
        return
    try:
        shared = x25519_from_ed25519_scalar(band.signer.scalar, cloud_public)
    except ValueError:
        band.note("enrol refused: bad cloud key")
        return
    key = downlink.derive_key(shared, nonce, band.band_id)
    confirm = downlink.enrol_confirm(key, nonce, cloud_public)
    band.store.write("dlkey", key)
    band.dl_key = key
    band.dl_window = replay.EMPTY  # a new key starts a new downlink counter
    band.last_downlink = 0
    band._save_state()
    band._update_identity()
    band.emit(
        "enrol",
        {
            "nonce": bytes(nonce),
            "confirm": confirm,
            "fw_version": board.FW_VERSION,
            "hw_rev": band.hw_rev,
            "capabilities": band.capabilities(),
        },
    )


def _header(raw):
    """(counter, type) of a downlink for the answer, even when it does not verify."""
    if len(raw) >= 11:
        return struct.unpack(">I", raw[7:11])[0], raw[1]
    return 0, raw[1] if len(raw) > 1 else 0


def _answer(band, counter, dtype, result, refused):
    now = band.uptime_s()
    if refused:
        if now - band._refusal_at < duty.REFUSAL_ANSWER_S:
            band.note("downlink refused (%d), answer suppressed" % result)
            return
        band._refusal_at = now
    band.emit("cmd_result", {"downlink_counter": counter, "downlink_type": dtype, "result": result})


def _downlink(band, raw):
    counter, dtype = _header(raw)
    if band.dl_key is None:
        _answer(band, counter, dtype, schema.RESULT_UNSUPPORTED, True)
        return
    try:
        msg, window = downlink.accept(raw, band.dl_key, band.band_id, band.dl_window)
    except FrameError as exc:
        if exc.code == BAD_SIGNATURE:
            result = schema.RESULT_BAD_TAG
        elif exc.code == REPLAY:
            result = schema.RESULT_REPLAY
        elif exc.code == UNKNOWN_TYPE:
            result = schema.RESULT_UNSUPPORTED
        else:
            result = schema.RESULT_BAD_VALUE
        band.note("downlink %d refused: %s" % (counter, exc))
        _answer(band, counter, dtype, result, True)
        return
    # Store the new window before acting: a reset now cannot make the band act twice.
    band.dl_window = window
    band.last_downlink = msg.counter
    band._save_state()
    result = _act(band, msg)
    _answer(band, msg.counter, msg.type, result, False)


def _act(band, msg):
    f = msg.fields
    name = msg.type_name
    if name == "sos_ack":
        if band.sos is None or band.sos[0] != f["sos_id"]:
            return schema.RESULT_BAD_VALUE
        band.sos = None
        band._save_state()
        band.motor.play("sos_sent")
        band._advertise()
        return schema.RESULT_OK
    if name == "time_sync":
        now, synced = band.band_time()
        if synced and msg.cloud_time < now - STALE_SYNC_S:
            # Hubs may hold a downlink for a day: an old sync must not turn the clock back.
            return schema.RESULT_BAD_VALUE
        band.utc_base = msg.cloud_time - band.uptime_s()
        return schema.RESULT_OK
    if name == "mode":
        return _mode(band, f["mode"], f["session_id"], f["max_s"])
    if name == "config":
        lo, hi = duty.ACTIVITY_S_RANGE
        hlo, hhi = duty.HEARTBEAT_S_RANGE
        if not (lo <= f["activity_s"] <= hi and hlo <= f["heartbeat_s"] <= hhi):
            return schema.RESULT_BAD_VALUE
        band.cfg = [f["activity_s"], f["heartbeat_s"], f["config"], f["presence_until"]]
        now = band.uptime_s()
        band._next_activity = min(band._next_activity, now + f["activity_s"])
        band._next_heartbeat = min(band._next_heartbeat, now + f["heartbeat_s"])
        # The band's own deadline for presence: from this message's clock, not the hub's.
        remaining = f["presence_until"] - msg.cloud_time
        band.presence_deadline = band.uptime_s() + remaining if remaining > 0 else None
        if not f["config"] & schema.CONFIG_SOS_LOCATION:
            band.hub = None
        band._save_state()
        band._advertise()
        return schema.RESULT_OK
    if name == "notify":
        band.motor.play(f["pattern"])
        return schema.RESULT_OK
    if name == "profile":
        if not (
            10 <= f["age"] <= 110 and 20 <= f["weight_kg"] <= 250 and 30 <= f["rest_hr"] <= 120
        ):
            return schema.RESULT_BAD_VALUE
        band.profile = {
            "sex": "m" if f["sex"] == 1 else "f",
            "age": f["age"],
            "weight_kg": f["weight_kg"],
            "rest_hr": f["rest_hr"],
        }
        band.sensing.set_profile(band.profile)
        band._save_state()
        return schema.RESULT_OK
    return schema.RESULT_UNSUPPORTED


def _mode(band, mode, session_id, max_s):
    if mode == schema.MODE_SESSION:
        if session_id == 0 or max_s > SESSION_MAX_S:
            return schema.RESULT_BAD_VALUE
        if band.session is not None:
            if band.session.session_id == session_id:
                return schema.RESULT_OK  # the same order again: already running
            end_session(band, schema.SESSION_END)
        band._wake_accel()  # a session counts every step: no sleeping accelerometer
        band.session = Session(session_id, band.uptime_s(), max_s)
        band._save_state()
        band.emit("session", band.session.fields(schema.SESSION_START, band.uptime_s()))
        return schema.RESULT_OK
    if band.session is None:
        return schema.RESULT_BAD_VALUE
    if session_id and session_id != band.session.session_id:
        return schema.RESULT_BAD_VALUE
    end_session(band, schema.SESSION_END)
    return schema.RESULT_OK


def end_session(band, event):
    """Close the running session with a session frame (ended or aborted)."""
    s = band.session
    if s is None:
        return
    fields = s.fields(event, band.uptime_s())
    band.session = None  # the closing frame itself is not flagged SESSION
    band._save_state()
    band.emit("session", fields)


def abort_session(band):
    """Strap opened or band off skin during a session: it ends as aborted."""
    if band.session is not None:
        end_session(band, schema.SESSION_ABORTED)
