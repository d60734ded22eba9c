"""Enrolling a band at the office (docs/mqtt.md "Enrolment"): HTTP to the cloud, GATT to the band.

IDENTITY is read, the cloud issues a challenge, the band answers with a signed enrol frame, and
the cloud verifies it. This command stores nothing; the hub service collects the band's frames.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from typing import Any

from bleak import BleakClient, BleakScanner

from hub.config import HubSettings
from protocol import gatt
from protocol.errors import FrameError
from protocol.verify import Keyring, verify_frame

log = logging.getLogger("sqjz.hub.enrol")


class EnrolmentError(RuntimeError):
    """Enrolment did not complete; the message says at which step and why."""


def post_json(url: str, body: dict[str, Any], token: str, timeout: float = 15.0) -> dict[str, Any]:
    """POST JSON with the hub's bearer token; the parsed answer or EnrolmentError."""
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            answer: dict[str, Any] = json.loads(r.read())
            return answer
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise EnrolmentError(f"cloud refused ({exc.code}): {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise EnrolmentError(f"cloud unreachable at {url}: {exc}") from None


async def enrol_band(
    client: BleakClient,
    cloud_url: str,
    token: str,
    hub_id: int,
    now: int,
    expect_band: int | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """Run §6.1 with a connected band: its identity, enrol frame and the cloud's answer."""
    band_id, public_key, fw, hw, enrolled = gatt.unpack_identity(
        bytes(await client.read_gatt_char(gatt.IDENTITY_UUID))
    )
    if expect_band is not None and band_id != expect_band:
        raise EnrolmentError(f"connected band says it is {band_id}, not {expect_band}")
    keyring = Keyring({band_id: public_key})
    frames: asyncio.Queue[bytes] = asyncio.Queue()
    reassembler = gatt.Reassembler()

    def on_notify(_c: Any, data: bytearray) -> None:
        raw = reassembler.feed(bytes(data))
        if raw is not None:
            frames.put_nowait(raw)

    await client.start_notify(gatt.FRAMES_UUID, on_notify)
    await client.write_gatt_char(gatt.CONTROL_UUID, gatt.hub_hello(hub_id, now), response=True)
    base = cloud_url.rstrip("/")
    ch = await asyncio.to_thread(
        post_json,
        f"{base}/api/v1/enrolments",
        {"band_id": band_id, "public_key": public_key.hex()},
        token,
    )
    nonce, cloud_public = bytes.fromhex(ch["nonce"]), bytes.fromhex(ch["cloud_public"])
    await client.write_gatt_char(
        gatt.CONTROL_UUID,
        gatt.control(gatt.OP_ENROL_CHALLENGE, nonce + cloud_public),
        response=True,
    )
    answer = await _enrol_frame(frames, keyring, nonce, timeout)
    result = await asyncio.to_thread(
        post_json,
        f"{base}/api/v1/enrolments/{ch['enrolment_id']}/complete",
        {"frame": answer.raw.hex()},
        token,
    )
    # The cloud now holds the frame: the band may delete it. Other frames are left unacked:
    # the running hub service collects them (this command stores nothing itself).
    await client.write_gatt_char(gatt.CONTROL_UUID, gatt.ack(answer.counter), response=True)
    log.info("band enrolled", extra={"band_id": band_id, "was_enrolled": enrolled})
    return {
        "band_id": band_id,
        "public_key": public_key.hex(),
        "fw_version": fw,
        "hw_rev": hw,
        "frame": answer.raw.hex(),
        "cloud": result,
    }


async def _enrol_frame(
    frames: asyncio.Queue[bytes], keyring: Keyring, nonce: bytes, timeout: float
) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise EnrolmentError("the band did not answer the challenge in time")
        try:
            raw = await asyncio.wait_for(frames.get(), left)
        except TimeoutError:
            continue
        try:
            f = verify_frame(raw, keyring)
        except FrameError as exc:
            raise EnrolmentError(
                f"the band's frame does not verify with its own key: {exc}"
            ) from None
        if f.type_name == "enrol" and f.fields["nonce"] == nonce:
            return f


async def enrol_cli(settings: HubSettings, band_id: int | None, cloud_url: str, token: str) -> int:
    """`sqjz hub enrol --band N --cloud URL`: find the band nearby, enrol it, print the result."""
    import time

    if band_id is None or not cloud_url or not token:
        print("需要 --band、--cloud 和 API 令牌 / needs --band, --cloud and the API token (env)")
        return 2
    kwargs: dict[str, Any] = {"bluez": {"adapter": settings.ble.adapter}}
    radio = None
    if settings.ble.backend == "bumble":
        from simulators.ble.backend import BumbleRadio

        radio = await BumbleRadio(transport=settings.ble.bumble_transport).open()
        kwargs = {"backend": radio.scanner_backend}

    def is_band(_d: Any, adv: Any) -> bool:
        status = gatt.unpack_adv_status(adv.manufacturer_data.get(gatt.MANUFACTURER_ID, b""))
        return status is not None and status[0] == band_id

    try:
        device = await BleakScanner.find_device_by_filter(is_band, 20, **kwargs)
        if device is None:
            print(f"附近没有找到手环 {band_id} / band {band_id} not found nearby")
            return 1
        ckw = {"backend": radio.client_backend} if radio else {"bluez": kwargs["bluez"]}
        async with BleakClient(device, **ckw) as client:
            result = await enrol_band(
                client, cloud_url, token, settings.id, int(time.time()), band_id
            )
    except EnrolmentError as exc:
        print(f"登记失败 / enrolment failed: {exc}")
        return 1
    finally:
        if radio is not None:
            await radio.close()
    print(json.dumps({"ok": True, **result}, ensure_ascii=False))
    return 0
