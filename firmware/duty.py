"""Duty cycle and reporting constants; hardware/power_budget.py computes battery life from these."""

SAMPLE_HZ = 25  # accelerometer and PPG sample rate handed to the algorithms

# CPU wake-ups: the service timer drains the sensor FIFOs in batches.
SERVICE_MS_PPG = 1000  # PPG running: its 32-sample FIFO must be read at least every 1.28 s
SERVICE_MS_IDLE = 4000  # accelerometer only: 100 samples wait in its 1 KB FIFO (holds 146)

# PPG: continuous during a community-service session (evidence). Otherwise heart rate for
# PPG_ON_S of every PPG_PERIOD_S, and between those a SKIN_CHECK_ON_S look with the IR LED
# alone every SKIN_CHECK_S, so a band slipped off the wrist is seen within about a minute.
PPG_PERIOD_S = 300
PPG_ON_S = 30
SKIN_CHECK_S = 60
SKIN_CHECK_ON_S = 3
OFF_SKIN_IR = 3000  # IR counts at 2 mA below which nothing reflects: no skin under the band

# Still wrist: after STILL_AFTER_S of rest without a step the accelerometer sleeps in its
# low-power mode and wakes the CPU on motion above STILL_WAKE_MG; no samples to process.
STILL_AFTER_S = 60
STILL_WAKE_MG = 48

# Radio: advertising interval by situation, and hanging up idle links.
ADV_MS = 2000
ADV_PRESENCE_MS = 1000  # an Art. 29 presence order is in force: hubs log presence faster
ADV_SOS_MS = 200  # an SOS waits for its acknowledgement
ADV_LOW_BATTERY_MS = 5000  # critical battery: keep the link possible, spend little
CONN_IDLE_S = 10  # no frame or write for this long: disconnect, the hub reconnects on need
# Routine frames (activity, heartbeat) raise the "frames queued" advert flag only in batches,
# so a hub connects a few times an hour rather than for every frame; anything else at once.
BATCH_FRAMES = 4
BATCH_MAX_S = 1200

# Checks.
STRAP_CHECK_S = 60  # resistance check of the strap loop (the open-circuit interrupt is instant)
BATTERY_CHECK_S = 60
WDT_MS = 30000

# Reporting defaults (the cloud's config downlink may change them within these limits).
ACTIVITY_S = 300
HEARTBEAT_S = 900
ACTIVITY_S_RANGE = (60, 3600)
HEARTBEAT_S_RANGE = (60, 86400)

# SOS.
LONG_PRESS_MS = 3000
SOS_BACKOFF_S = (10, 20, 40, 80, 160, 300)  # then every 300 s until acknowledged

# Battery: reference cell (LiPo 502535) and the normal-mode average hardware/power.md budgets.
CELL_MAH = 400
BUDGET_MA = 1.7
LOW_PCT = 20
CRITICAL_PCT = 5

# Downlink refusals answered with cmd_result at most this often (a flood of forgeries must not
# make the band sign and send without end).
REFUSAL_ANSWER_S = 10
