#!/usr/bin/env python3
"""Sums the server's per-stage timing log into a table: where the time of Extract goes.

`parallax serve` with `RUST_LOG=warn,parallax_engine::timing=debug` writes one event per
stage and page (or request, or index batch) on stderr (see crates/engine/src/web/timing.rs):
`... DEBUG parallax_engine::timing: stage="extract" wall_us=8123 cpu_us=8011 items=51234`.
`devset.py --api --stages` captures that log and prints this table; run alone on a saved log:

    python3 bench/extract/stages.py SERVER.LOG

Columns: how many events, the sum of their wall time and of their thread CPU time, in
seconds. Wall times of concurrent stages overlap (10 fetches of a batch run at once), so
their sum can exceed the elapsed time; CPU is what the stage cost the machine. `fetch` runs
across awaits, so only its wall time is known; `request` is one Extract request end to end.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

EVENT = re.compile(r"parallax_engine::timing: (.*)$")
FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')
ORDER = ["fetch", "decode", "extract", "excerpts", "serialise", "index", "request"]


def summarise(log: Path) -> dict:
    """`{stage: {"n", "wall", "cpu", "items"}}`, seconds, from a server log."""
    out: dict = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        m = EVENT.search(line)
        if not m:
            continue
        fields = {k: v.strip('"') for k, v in FIELD.findall(m.group(1))}
        stage = fields.get("stage")
        if not stage:
            continue
        s = out.setdefault(stage, {"n": 0, "wall": 0.0, "cpu": 0.0, "items": 0})
        s["n"] += 1
        s["wall"] += int(fields.get("wall_us", 0)) / 1e6
        s["cpu"] += int(fields.get("cpu_us", 0)) / 1e6
        s["items"] += int(fields.get("items", 0))
    return out


def table(stages: dict) -> str:
    rows = [f"{'stage':10s} {'events':>7s} {'wall s':>8s} {'CPU s':>8s}"]
    for name in ORDER + sorted(set(stages) - set(ORDER)):
        if name in stages:
            s = stages[name]
            cpu = f"{s['cpu']:8.2f}" if name not in ("fetch", "request") else f"{'-':>8s}"
            rows.append(f"{name:10s} {s['n']:7d} {s['wall']:8.2f} {cpu}")
    return "\n".join(rows)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(table(summarise(Path(sys.argv[1]))))
