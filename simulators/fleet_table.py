"""The fleet report as a table for people (Chinese first, English second)."""

from __future__ import annotations

from typing import Any


def render(r: dict[str, Any]) -> str:
    """The report as a table for people (Chinese first, English second)."""
    f, d, lat, sos, tm, skew = (
        r["frames"],
        r["duplicates"],
        r["latency"],
        r["sos"],
        r["time"],
        r["skew"],
    )

    def ms(p: dict[str, Any]) -> str:
        if not p["n"]:
            return "-"
        return f"p50 {p['p50_ms']} / p99 {p['p99_ms']} / max {p['max_ms']} ms (n={p['n']})"

    rows = [
        ("发送 / frames sent (signed by bands)", f"{f['sent']:,}"),
        ("网关确认 / acknowledged by hubs", f"{f['acknowledged_by_hubs']:,}"),
        ("云端接收 / accepted by the cloud", f"{f['accepted']:,}"),
        ("丢失 / lost", f"{f['lost']}"),
        ("排空未完 / still in hub outboxes at the end", f"{f['still_at_hubs']:,}"),
        ("字节不符 / stored with other bytes", f"{f['stored_with_other_bytes']}"),
        (
            "重复 / stored by two hubs -> folded by the cloud",
            f"{d['stored_by_two_hubs']} -> {d['folded_by_cloud']}",
        ),
        ("网关暂存 / held in hub outboxes", f"{f['held_by_hubs']:,}"),
        ("手环暂存 / queued on bands (out of range)", f"{f['queued_on_bands']:,}"),
        ("窗口下方迟到接收 / accepted below the window", f"{f['accepted_below_window']:,}"),
        ("网关拒收 / refused by hubs", _fmt(r["refused"]["hubs"])),
        ("云端拒收 / refused by the cloud", _fmt(r["refused"]["cloud"])),
        ("延迟 签名→入库 / band signing -> cloud commit", ms(lat["band_to_commit_live"])),
        ("含暂存帧 / incl. held and queued frames", ms(lat["band_to_commit_all"])),
        ("SOS → 监管人员事件流 / SOS -> supervisor stream", ms(sos["band_to_stream"])),
        ("SOS → 手环收到确认 / SOS -> ack at the band", ms(sos["band_to_ack_at_band"])),
        (
            "时钟偏差报告 / skew reports: far-off bands, others",
            f"{skew['reports_for_far_off_bands']}, {skew['reports_for_other_bands']}",
        ),
        ("告警 / alerts", _fmt(r["alerts"])),
    ]
    lines = [
        f"场景 / scenario: {r['scenario']} ({r['title_zh']} / {r['title_en']})",
        f"规模 / size: {r['size']['bands']} bands, {r['size']['hubs']} hubs; "
        f"{tm['simulated_s'] / 3600:.2f} h simulated at {tm['speed']:g}x in {tm['run_s']} s "
        f"(+{tm['drain_s']} s drain, {tm['setup_s']} s set-up)",
        "CPU 秒 / CPU seconds, run + drain: "
        + (", ".join(f"{k} {v}" for k, v in tm.get("cpu_s", {}).items()) or "-"),
        "",
        "| 项目 / measure | 值 / value |",
        "|---|---|",
        *(f"| {label} | {value} |" for label, value in rows),
        "",
    ]
    for c in r["checks"]:
        lines.append(f"{'✓' if c['ok'] else '✗'} {c['check']} ({c['detail']})")
    return "\n".join(lines)


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "0"
