"""Stand-in for MicroPython's low-level `bluetooth` module, simulated at GATT level."""

# The firmware sees the same API as on the ESP32 port (NimBLE): gatts_register_services,
# gap_advertise, gatts_notify, gatts_set_buffer, irq events with the same numbers and data
# tuples. The simulator plays the one central through the sim_* functions: it connects with an
# MTU, writes and reads characteristics and collects notifications. As on NimBLE, a value
# buffer holds 20 bytes unless gatts_set_buffer() made it larger (longer writes are truncated),
# a notification is cut to MTU - 3 bytes, and advertising stops when a central connects.

import simkernel as _k

FLAG_BROADCAST = 0x0001
FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020

_IRQ_CENTRAL_CONNECT = 1
_IRQ_CENTRAL_DISCONNECT = 2
_IRQ_GATTS_WRITE = 3
_IRQ_MTU_EXCHANGED = 21

_DEFAULT_BUFFER = 20
_ATT_DEFAULT_MTU = 23
NOTIFY_MAX = 256  # notifications kept for the central before the oldest are lost


class UUID:
    """A 16- or 128-bit UUID."""

    def __init__(self, value):
        if isinstance(value, UUID):
            value = value._s
        if isinstance(value, int):
            value = "%04x" % value
        self._s = str(value).lower()

    def __eq__(self, other):
        return isinstance(other, UUID) and other._s == self._s

    def __hash__(self):
        return hash(self._s)

    def __str__(self):
        return self._s

    def __repr__(self):
        return "UUID('%s')" % self._s


class _Attr:
    def __init__(self, uuid, flags):
        self.uuid = uuid
        self.flags = flags
        self.value = b""
        self.size = _DEFAULT_BUFFER


class BLE:
    """The radio; one instance per board (BLE() returns it)."""

    _instance = None

    def __new__(cls):
        if BLE._instance is None:
            inst = object.__new__(cls)
            inst._active = False
            inst._handler = None
            inst._attrs = []  # index = handle - 1
            inst._adv = None
            inst._conn = None
            inst._conn_mtu = _ATT_DEFAULT_MTU
            inst._mtu = 256
            inst._name = "MPY ESP32"
            inst._notified = []
            inst._lost_notifications = 0
            BLE._instance = inst
        return BLE._instance

    def active(self, value=None):
        """Turn the radio on or off; with no argument, tell whether it is on."""
        if value is None:
            return self._active
        self._active = bool(value)
        if not self._active:
            self._adv = None
            self._conn = None
        return self._active

    def config(self, *args, **kwargs):
        """Read one setting by name, or set settings by keyword."""
        if args:
            name = args[0]
            if name == "mac":
                return (0, _mac())
            if name == "mtu":
                return self._mtu
            if name == "gap_name":
                return self._name
            raise ValueError("unknown config param")
        if "mtu" in kwargs:
            m = kwargs["mtu"]
            if m < 23 or m > 517:
                raise ValueError("mtu")
            self._mtu = m
        if "gap_name" in kwargs:
            self._name = kwargs["gap_name"]
        return None

    def irq(self, handler):
        """Register the event handler handler(event, data)."""
        self._handler = handler

    def _check(self):
        if not self._active:
            raise OSError(11)  # EAGAIN: the stack is not running

    def gap_advertise(self, interval_us, adv_data=None, resp_data=None, connectable=True):
        """Start advertising every interval_us (None stops)."""
        self._check()
        if interval_us is None:
            self._adv = None
            return
        if adv_data is not None and len(adv_data) > 31:
            raise OSError(22)  # EINVAL: legacy advertising payload is at most 31 bytes
        if resp_data is not None and len(resp_data) > 31:
            raise OSError(22)
        old = self._adv
        if adv_data is None and old is not None:
            adv_data = old[1]
        if resp_data is None and old is not None:
            resp_data = old[2]
        self._adv = (int(interval_us), bytes(adv_data or b""), bytes(resp_data or b""), connectable)
        _k.record("adv_interval_ms", int(interval_us) // 1000)

    def gatts_register_services(self, services):
        """Register services; returns one tuple of value handles per service."""
        self._check()
        self._attrs = []
        out = []
        for _svc_uuid, chars in services:
            handles = []
            for ch in chars:
                self._attrs.append(_Attr(UUID(ch[0]), ch[1]))
                handles.append(len(self._attrs))
            out.append(tuple(handles))
        return tuple(out)

    def _attr(self, handle):
        if handle < 1 or handle > len(self._attrs):
            raise ValueError("invalid handle")
        return self._attrs[handle - 1]

    def gatts_read(self, value_handle):
        """The local value of a characteristic."""
        return self._attr(value_handle).value

    def gatts_write(self, value_handle, data, send_update=False):
        """Set the local value (as read by the central)."""
        a = self._attr(value_handle)
        a.value = bytes(data)
        if send_update and self._conn is not None:
            self.gatts_notify(self._conn, value_handle)

    def gatts_set_buffer(self, value_handle, length, append=False):
        """Size the buffer that receives writes from the central."""
        self._attr(value_handle).size = length

    def gatts_notify(self, conn_handle, value_handle, data=None):
        """Send a notification to the connected central."""
        if self._conn is None or conn_handle != self._conn:
            raise OSError(128)  # ENOTCONN
        a = self._attr(value_handle)
        payload = a.value if data is None else bytes(data)
        payload = payload[: self._conn_mtu - 3]  # ATT cuts what does not fit the MTU
        if len(self._notified) >= NOTIFY_MAX:
            self._notified.pop(0)
            self._lost_notifications += 1
        self._notified.append((a.uuid._s, payload))

    def gap_disconnect(self, conn_handle):
        """Drop the connection; True if there was one."""
        if self._conn is None or conn_handle != self._conn:
            return False
        sim_disconnect(self)
        return True

    def _event(self, event, data):
        if self._handler is not None:
            self._handler(event, data)


def _mac():
    import machine

    return bytes(machine.unique_id())


_CENTRAL_ADDR = b"\xdc\xa6\x32\x00\x00\x01"  # the simulated hub's public address


def sim_connect(ble, mtu):
    """A central connects and then exchanges MTUs; returns False if not connectable."""
    if ble._adv is None or not ble._adv[3] or ble._conn is not None:
        return False
    ble._adv = None  # NimBLE stops advertising on connection
    ble._conn = 1
    ble._conn_mtu = _ATT_DEFAULT_MTU
    ble._event(_IRQ_CENTRAL_CONNECT, (1, 0, _CENTRAL_ADDR))
    if mtu != _ATT_DEFAULT_MTU:
        ble._conn_mtu = max(_ATT_DEFAULT_MTU, min(mtu, ble._mtu))
        ble._event(_IRQ_MTU_EXCHANGED, (1, ble._conn_mtu))
    return True


def sim_disconnect(ble):
    """The link drops (central left, out of range, or the band hung up)."""
    if ble._conn is None:
        return
    conn = ble._conn
    ble._conn = None
    ble._event(_IRQ_CENTRAL_DISCONNECT, (conn, 0, _CENTRAL_ADDR))


def _find(ble, uuid):
    u = UUID(uuid)
    for i in range(len(ble._attrs)):
        if ble._attrs[i].uuid == u:
            return i + 1
    raise KeyError("no characteristic %s" % uuid)


def sim_write(ble, uuid, data):
    """The central writes a characteristic (write with response)."""
    if ble._conn is None:
        raise OSError(128)
    h = _find(ble, uuid)
    a = ble._attrs[h - 1]
    if not a.flags & (FLAG_WRITE | FLAG_WRITE_NO_RESPONSE):
        raise OSError(3)  # ATT: write not permitted
    a.value = bytes(data)[: a.size]
    ble._event(_IRQ_GATTS_WRITE, (ble._conn, h))


def sim_read(ble, uuid):
    """The central reads a characteristic."""
    if ble._conn is None:
        raise OSError(128)
    a = ble._attrs[_find(ble, uuid) - 1]
    if not a.flags & FLAG_READ:
        raise OSError(2)  # ATT: read not permitted
    return a.value


def sim_take_notifications(ble, uuid):
    """Notifications on uuid since the last call, oldest first."""
    u = UUID(uuid)._s
    out = [p for (x, p) in ble._notified if x == u]
    ble._notified = [n for n in ble._notified if n[0] != u]
    return out
