"""The band's GATT service on MicroPython's `bluetooth` (protocol/gatt.py): adverts, frames out
by notification (fragmented to the MTU), control writes in."""

import bluetooth
import micropython

from protocol import gatt

_IRQ_CENTRAL_CONNECT = 1
_IRQ_CENTRAL_DISCONNECT = 2
_IRQ_GATTS_WRITE = 3
_IRQ_MTU_EXCHANGED = 21

CONTROL_BUFFER = 64  # longest control write: op + 16-byte header + 9-byte payload + 16-byte tag
INBOX = 8  # control writes held until the scheduler runs the handler


def _ad(kind, data):
    return bytes((len(data) + 1, kind)) + data


def _uuid128_le(uuid):
    return bytes(reversed(bytes.fromhex(uuid.replace("-", ""))))


class Radio:
    """Advertising, one connection at a time, notifications and control writes."""

    def __init__(self, band_id, on_control, on_link):
        self.band_id = band_id
        self.conn = None
        self.mtu = gatt.MIN_MTU
        self.notified = 0
        self.lost_writes = 0  # control writes dropped because the inbox was full
        self._on_control = on_control
        self._on_link = on_link
        self._inbox = []
        self._adv_key = None
        self._name = ("SQJZ-%d" % band_id).encode()
        self.ble = bluetooth.BLE()
        self.ble.active(True)
        self.ble.config(gap_name=self._name.decode(), mtu=gatt.WANT_MTU)
        self.ble.irq(self._irq)
        service = (
            bluetooth.UUID(gatt.SERVICE_UUID),
            (
                (bluetooth.UUID(gatt.FRAMES_UUID), bluetooth.FLAG_NOTIFY),
                (bluetooth.UUID(gatt.CONTROL_UUID), bluetooth.FLAG_WRITE),
                (bluetooth.UUID(gatt.IDENTITY_UUID), bluetooth.FLAG_READ),
            ),
        )
        ((self.h_frames, self.h_control, self.h_identity),) = self.ble.gatts_register_services(
            (service,)
        )
        self.ble.gatts_set_buffer(self.h_control, CONTROL_BUFFER)
        self._run = self._drain  # bound once: scheduling it then allocates nothing

    def set_identity(self, value):
        """The IDENTITY characteristic value."""
        self.ble.gatts_write(self.h_identity, value)

    def advertise(self, interval_ms, status):
        """Advertise (connectable) with the status byte; re-sent only when something changed."""
        if self.conn is not None:
            return
        key = (interval_ms, status)
        if key == self._adv_key:
            return
        self._adv_key = key
        adv = (
            _ad(0x01, b"\x06")  # flags: LE general discoverable, no BR/EDR
            + _ad(0x07, _uuid128_le(gatt.SERVICE_UUID))
            + _ad(0xFF, gatt.pack_adv_status(self.band_id, status))
        )
        self.ble.gap_advertise(interval_ms * 1000, adv_data=adv, resp_data=_ad(0x09, self._name))

    def stop_advertising(self):
        """No advertisement (e.g. radio quiet while the battery is critical)."""
        self._adv_key = None
        self.ble.gap_advertise(None)

    def send(self, frame):
        """Notify one frame in as many fragments as the MTU needs; False if not connected."""
        if self.conn is None:
            return False
        try:
            for part in gatt.fragments(frame, self.mtu):
                self.ble.gatts_notify(self.conn, self.h_frames, part)
        except OSError:
            return False
        self.notified += 1
        return True

    def disconnect(self):
        """Hang up (idle link, to save power)."""
        if self.conn is not None:
            self.ble.gap_disconnect(self.conn)

    def _irq(self, event, data):
        # Runs in the BLE stack's context: copy what is needed and defer to the scheduler,
        # which runs handlers one at a time with the timers and pin interrupts.
        if event == _IRQ_GATTS_WRITE:
            _conn, handle = data
            if handle == self.h_control:
                if len(self._inbox) >= INBOX:
                    self.lost_writes += 1
                    return
                self._inbox.append(bytes(self.ble.gatts_read(handle)))
                micropython.schedule(self._run, None)
        elif event == _IRQ_CENTRAL_CONNECT:
            self.conn = data[0]
            self.mtu = gatt.MIN_MTU
            self._adv_key = None
            micropython.schedule(self._on_link, True)
        elif event == _IRQ_CENTRAL_DISCONNECT:
            self.conn = None
            self._adv_key = None
            del self._inbox[:]
            micropython.schedule(self._on_link, False)
        elif event == _IRQ_MTU_EXCHANGED:
            self.mtu = data[1]

    def _drain(self, _):
        while self._inbox:
            self._on_control(self._inbox.pop(0))
