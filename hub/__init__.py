"""The village hub: bands over BLE (bleak) to the county broker over MQTT (paho), losing nothing."""

__version__ = "0.1.0"
