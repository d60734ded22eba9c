"""MQTT topic names shared by hub and cloud (see docs/mqtt.md). A hub's MQTT username is its id."""

PREFIX = "sqjz/v1"
QOS = 1


def up(hub_id):
    """Hub -> cloud: one envelope (protocol.envelope) with one band frame, QoS 1."""
    return "%s/hubs/%d/up" % (PREFIX, hub_id)


def urgent(hub_id):
    """Hub -> cloud: an SOS or tamper frame, enveloped as on `up`; the cloud reads it first."""
    return "%s/hubs/%d/urgent" % (PREFIX, hub_id)


def status(hub_id):
    """Hub -> cloud: retained JSON status; the hub's last will sets online false."""
    return "%s/hubs/%d/status" % (PREFIX, hub_id)


def events(hub_id):
    """Hub -> cloud: JSON events (forged or malformed frames refused, adapter faults)."""
    return "%s/hubs/%d/events" % (PREFIX, hub_id)


def presence(hub_id):
    """Hub -> cloud: JSON presence of bands whose collection is enabled (Art. 29 orders)."""
    return "%s/hubs/%d/presence" % (PREFIX, hub_id)


def down(hub_id, band_id):
    """Cloud -> hub: one authenticated downlink message (raw bytes) for one band."""
    return "%s/hubs/%d/down/%d" % (PREFIX, hub_id, band_id)


def config(hub_id):
    """Cloud -> hub: retained JSON settings record (name, intervals, generation)."""
    return "%s/hubs/%d/config" % (PREFIX, hub_id)


def band(band_id):
    """Cloud -> every hub of the county: retained JSON record of one band (key, permissions);
    empty = removed. One record per band, not per hub (a county broker serves one county)."""
    return "%s/county/bands/%d" % (PREFIX, band_id)


def receipts(hub_id):
    """Cloud -> hub: what one ingest transaction committed (protocol.receipts), QoS 1."""
    return "%s/hubs/%d/receipts" % (PREFIX, hub_id)


# Subscriptions.
HUB_DOWN_FILTER = PREFIX + "/hubs/%d/down/+"
HUB_RECEIPTS_FILTER = PREFIX + "/hubs/%d/receipts"
COUNTY_BANDS_FILTER = PREFIX + "/county/bands/+"
CLOUD_UP_FILTER = PREFIX + "/hubs/+/up"
CLOUD_URGENT_FILTER = PREFIX + "/hubs/+/urgent"
CLOUD_STATUS_FILTER = PREFIX + "/hubs/+/status"
CLOUD_EVENTS_FILTER = PREFIX + "/hubs/+/events"
CLOUD_PRESENCE_FILTER = PREFIX + "/hubs/+/presence"


def hub_of(topic):
    """The hub id in a topic under PREFIX/hubs/<id>/..., or None."""
    parts = topic.split("/")
    if len(parts) < 4 or "/".join(parts[:2]) != PREFIX or parts[2] != "hubs":
        return None
    return _number(parts[3])


def _number(part):
    try:
        return int(part)
    except ValueError:
        return None


def _band_under(topic, kind):
    parts = topic.split("/")
    if len(parts) != 6 or parts[4] != kind:
        return None
    return _number(parts[5])


def band_of_down(topic):
    """The band id of a downlink topic, or None."""
    return _band_under(topic, "down")


def band_of_record(topic):
    """The band id of a band-record topic, or None."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:4]) != PREFIX + "/county/bands":
        return None
    return _number(parts[4])
