"""Fleet scenarios as data: who lives where, and a timeline of what happens when (pure).

A scenario turns options into a list of `Step`s (simulated seconds after the start, the name of
a `simulators.fleet.Fleet` action, its arguments). Nothing here runs anything, so scenarios are
cheap to test and read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

HUB_BASE = 101  # fleet hub ids: 101, 102, ...
BAND_BASE = 1_000_001
UNITS = ("village", "village_b")  # the sample county's villages under its two 司法所
HOUR = 3600.0


@dataclass(frozen=True)
class Options:
    """Everything a fleet run is configured by (`sqjz simulate` options)."""

    scenario: str = "normal-day"
    bands: int = 1000
    hubs: int = 10
    speed: float = 240.0  # simulated seconds per real second
    duration_s: float = 24 * HOUR  # simulated
    activity_s: float = 300.0  # band reporting periods (firmware defaults: firmware/duty.py)
    heartbeat_s: float = 900.0
    overlap: float = 0.05  # share of bands in range of two hubs at home
    ack_loss: float = 0.005  # share of band sessions whose link drops before the acks
    seed: int = 1
    broker: str | None = None  # host:port of a running broker (default: a private mosquitto)
    outage_s: float = 300.0  # broker-outage: how long
    outage_kill: bool = False  # broker-outage: SIGKILL instead of a clean stop
    offline_s: float = HOUR  # hub-offline: how long the hub's line is down
    storm_share: float = 0.1  # sos-storm: share of bands that press SOS
    attack_frames: int = 50  # forged: frames of each kind the attacker sends
    drain_timeout_s: float = 180.0  # real seconds to wait for every frame after the timeline


class Step(NamedTuple):
    """At `at_s` simulated seconds after the start, call Fleet.<action>(*args)."""

    at_s: float
    action: str
    args: tuple[Any, ...] = ()


class Plan(NamedTuple):
    """Where everything is: hubs, their villages, the bands each hub hears at home."""

    hubs: list[int]
    units: dict[int, str]  # hub_id -> sample county unit key
    bands: list[int]
    home: dict[int, tuple[int, ...]]  # band_id -> hubs in range at home (1, or 2 on a border)
    neighbour: dict[int, int]  # hub_id -> the next village's hub


def make_plan(opts: Options) -> Plan:
    """Bands spread evenly over the hubs; `overlap` of them live where two hubs hear them."""
    rng = random.Random(opts.seed)
    hubs = [HUB_BASE + i for i in range(opts.hubs)]
    units = {h: UNITS[i % len(UNITS)] for i, h in enumerate(hubs)}
    neighbour = {h: hubs[(i + 1) % len(hubs)] for i, h in enumerate(hubs)}
    bands = [BAND_BASE + i for i in range(opts.bands)]
    home: dict[int, tuple[int, ...]] = {}
    for i, band in enumerate(bands):
        hub = hubs[i % len(hubs)]
        border = len(hubs) > 1 and rng.random() < opts.overlap
        home[band] = (hub, neighbour[hub]) if border else (hub,)
    return Plan(hubs, units, bands, home, neighbour)


def _at(rng: random.Random, lo: float, hi: float) -> float:
    return rng.uniform(lo, hi)


def normal_day(plan: Plan, opts: Options, rng: random.Random) -> list[Step]:
    """Commuters, a field with no hub, a few SOS and tampers, reports every 5/15 minutes."""
    steps: list[Step] = []
    commuters = rng.sample(plan.bands, len(plan.bands) // 5)
    for band in commuters:
        away = (plan.neighbour[plan.home[band][0]],)
        steps.append(Step(8 * HOUR + _at(rng, -1800, 1800), "move", (band, away)))
        steps.append(Step(18 * HOUR + _at(rng, -1800, 1800), "go_home", (band,)))
    fields = rng.sample(plan.bands, max(1, len(plan.bands) // 50))
    for band in fields:  # out of range: frames wait in the band's flash (flag QUEUED)
        steps.append(Step(14 * HOUR + _at(rng, 0, 1800), "move", (band, ())))
        steps.append(Step(16 * HOUR + _at(rng, 0, 1800), "go_home", (band,)))
    for band in rng.sample(plan.bands, max(1, len(plan.bands) // 500)):
        steps.append(Step(_at(rng, 7 * HOUR, 22 * HOUR), "press_sos", (band,)))
    for band in rng.sample(plan.bands, max(1, len(plan.bands) // 200)):
        steps.append(Step(_at(rng, 0, 24 * HOUR), "open_strap", (band,)))
    return steps


def sos_storm(plan: Plan, opts: Options, rng: random.Random) -> list[Step]:
    """A share of all bands press SOS within one minute (a flood, an earthquake)."""
    n = max(1, round(len(plan.bands) * opts.storm_share))
    start = min(60.0, opts.duration_s / 4)
    return [
        Step(start + _at(rng, 0, 60), "press_sos", (band,)) for band in rng.sample(plan.bands, n)
    ]


def sos_latency(plan: Plan, opts: Options, rng: random.Random) -> list[Step]:
    """One SOS at a time, evenly spread, while the whole fleet reports in the background."""
    n = max(1, round(len(plan.bands) * opts.storm_share))
    first, gap = opts.duration_s * 0.1, opts.duration_s * 0.85 / n
    return [
        Step(first + i * gap, "press_sos", (band,))
        for i, band in enumerate(rng.sample(plan.bands, n))
    ]


def broker_outage(plan: Plan, opts: Options, rng: random.Random) -> list[Step]:
    """The county broker is down for `outage_s` (stopped cleanly, or killed with --outage-kill)."""
    start = min(600.0, opts.duration_s / 4)
    return [
        Step(start, "broker_down", (opts.outage_kill,)),
        Step(start + opts.outage_s, "broker_up"),
        Step(start + opts.outage_s / 2, "press_sos", (rng.choice(plan.bands),)),
    ]


def hub_offline(plan: Plan, opts: Options, rng: random.Random) -> list[Step]:
    """The first hub's line is down for `offline_s`; half its bands walk to the next village.

    The hub keeps taking frames into its outbox. Bands that walk on report through the
    neighbour, so the cloud's window for them moves on; when the line is back, the frames held
    at the first hub are below that window and must be accepted from history, exactly once.
    """
    victim = plan.hubs[0]
    start = min(600.0, opts.duration_s / 8)
    steps = [
        Step(start, "cut_line", (victim,)),
        Step(start + opts.offline_s, "restore_line", (victim,)),
    ]
    mine = [b for b in plan.bands if plan.home[b][0] == victim]
    walk_at = start + min(opts.offline_s / 6, 600.0)
    for band in mine[: len(mine) // 2]:
        steps.append(Step(walk_at + _at(rng, 0, 60), "move", (band, (plan.neighbour[victim],))))
    return steps


def clock_drift(plan: Plan, opts: Options, rng: random.Random) -> list[Step]:
    """Bands whose clocks are off or drift, and bands that lost their clock in a reset."""
    steps: list[Step] = []
    shuffled = rng.sample(plan.bands, len(plan.bands))
    n = len(plan.bands)
    big = shuffled[: max(1, n // 10)]
    small = shuffled[n // 10 : n // 10 + max(1, n // 20)]
    lost = shuffled[n // 10 + n // 20 : n // 10 + n // 20 + max(1, n // 50)]
    for band in big:  # far off: the cloud must keep the frames and report the skew
        offset = rng.choice((-1, 1)) * rng.uniform(300, 1800)
        steps.append(Step(0.0, "set_drift", (band, offset, rng.uniform(-0.002, 0.002))))
    for band in small:  # within the 120 s tolerance: nothing to report
        steps.append(Step(0.0, "set_drift", (band, rng.uniform(-30, 30), 0.0)))
    for band in lost:
        steps.append(Step(_at(rng, 0, opts.duration_s / 2), "lose_clock", (band,)))
    return steps


def forged(plan: Plan, opts: Options, rng: random.Random) -> list[Step]:
    """A rogue device at a hub, then a stolen hub password used straight on the broker."""
    victim = plan.hubs[0]
    other = plan.hubs[1] if len(plan.hubs) > 1 else victim
    start = min(300.0, opts.duration_s / 4)
    return [
        Step(start, "attack_radio", (victim, opts.attack_frames)),
        Step(start * 2, "attack_network", (victim, other, opts.attack_frames)),
    ]


class Scenario(NamedTuple):
    """A named scenario: what it is (zh, en), its defaults and its timeline builder."""

    zh: str
    en: str
    defaults: dict[str, Any]
    build: Any  # (Plan, Options, random.Random) -> list[Step]
    from_midnight: bool = False  # simulated time starts at 00:00 China Standard Time today


def start_time(opts: Options, now: float) -> float:
    """UTC seconds at which the simulated clock starts: now, or today's midnight in CST."""
    if not SCENARIOS[opts.scenario].from_midnight:
        return now
    cst = 8 * 3600
    return (now + cst) // 86400 * 86400 - cst


SCENARIOS: dict[str, Scenario] = {
    "normal-day": Scenario(
        "平常的一天（时间压缩）",
        "a normal day, compressed",
        {"duration_s": 24 * HOUR, "speed": 240.0},
        normal_day,
        from_midnight=True,
    ),
    "sos-storm": Scenario(
        "SOS 风暴", "SOS storm", {"duration_s": 900.0, "speed": 10.0, "ack_loss": 0.0}, sos_storm
    ),
    "sos-latency": Scenario(
        "背景负载下的 SOS 延迟",
        "SOS latency under a steady background",
        {
            "bands": 10_000,
            "hubs": 20,
            "duration_s": 150.0,
            "speed": 1.0,
            "activity_s": 60.0,
            "storm_share": 0.01,
            "ack_loss": 0.0,
        },
        sos_latency,
    ),
    "broker-outage": Scenario(
        "县级 MQTT 服务器中断", "broker outage", {"duration_s": HOUR, "speed": 60.0}, broker_outage
    ),
    "hub-offline": Scenario(
        "村级网关离线一小时",
        "a hub offline for an hour and back",
        {"bands": 500, "duration_s": 1.5 * HOUR + 600, "speed": 60.0, "activity_s": 30.0},
        hub_offline,
    ),
    "clock-drift": Scenario(
        "手环时钟漂移", "clock drift", {"duration_s": HOUR, "speed": 20.0}, clock_drift
    ),
    "forged": Scenario(
        "伪造帧攻击", "forged-frame attack", {"duration_s": 1800.0, "speed": 30.0}, forged
    ),
}


def check(opts: Options) -> Options:
    """Refuse options a run cannot use, saying which and why."""
    if opts.scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {opts.scenario!r}; known: {', '.join(SCENARIOS)}")
    if opts.bands < 1 or opts.hubs < 1:
        raise ValueError("--bands and --hubs must be at least 1")
    if opts.scenario in ("hub-offline", "forged") and opts.hubs < 2:
        raise ValueError(f"{opts.scenario} needs at least 2 hubs (a neighbour / a second hub)")
    if opts.bands < opts.hubs:
        raise ValueError("every hub needs a band: --bands must be at least --hubs")
    if opts.speed <= 0 or opts.duration_s <= 0:
        raise ValueError("--speed and --hours must be positive")
    if min(opts.activity_s, opts.heartbeat_s) < 1:
        raise ValueError("report periods must be at least 1 s")
    for name in ("overlap", "ack_loss", "storm_share"):
        if not 0 <= getattr(opts, name) <= 1:
            raise ValueError(f"--{name.replace('_', '-')} is a share between 0 and 1")
    if opts.bands > 100_000:
        raise ValueError("more than 100,000 bands do not fit one machine's memory here")
    return opts


def resolve(opts: Options, given: set[str]) -> Options:
    """The scenario's defaults for every option the user did not give."""
    scenario = SCENARIOS.get(opts.scenario)
    if scenario is None:
        raise ValueError(f"unknown scenario {opts.scenario!r}; known: {', '.join(SCENARIOS)}")
    return check(replace(opts, **{k: v for k, v in scenario.defaults.items() if k not in given}))


def timeline(plan: Plan, opts: Options) -> list[Step]:
    """The scenario's steps in time order (deterministic for a given seed)."""
    rng = random.Random(opts.seed * 7919 + 1)
    steps = SCENARIOS[opts.scenario].build(plan, opts, rng)
    return sorted(steps, key=lambda s: s.at_s)
