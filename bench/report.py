"""The rows every bench returns, and the report ``bench/run`` writes from them.

A bench module takes part in ``bench/run`` by exposing ``bench(quick: bool) ->
list[Row]``: it runs its paired measurements (nap and its baseline in the same
process, interleaved), prints its figures as its own CLI does, and returns one
:class:`Row` per figure. This module is the standard library only, so that a
unit test can render rows without Docker.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the report.

    ``median`` is nap's figure and ``baseline`` what it is compared with (the
    hand-run steps, bare Python, a plain push...), both in ``unit``; ``ratio`` is
    ``median / baseline`` unless the bench says otherwise. ``target`` is the
    issue's target in words (``<= 1.05x``) and ``met`` whether this run met it
    (None: no target, a figure for information).
    """

    name: str
    median: float
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    @classmethod
    def paired(
        cls,
        name: str,
        median: float,
        baseline: float,
        unit: str,
        limit: float,
        note: str = "",
        at_least: bool = False,
    ) -> Row:
        """A row whose target is ``median / baseline <= limit`` (``>=`` if ``at_least``)."""
        ratio = median / baseline if baseline else float("inf")
        met = ratio >= limit if at_least else ratio <= limit
        target = f"{'>=' if at_least else '<='} {limit:g}x"
        return cls(name, median, unit, baseline, ratio, target, met, note)

    @classmethod
    def none_failed(cls, name: str, failed: int, note: str = "") -> Row:
        """A row whose target is no failure at all."""
        return cls(name, failed, "failed", target="0 failed", met=failed == 0, note=note)

    @classmethod
    def at_most(cls, name: str, median: float, unit: str, limit: float, note: str = "") -> Row:
        """A row whose target is ``median <= limit`` (in ``unit``)."""
        return cls(
            name, median, unit, target=f"<= {limit:g} {unit}", met=median <= limit, note=note
        )


def figure(value: float | None, unit: str) -> str:
    """``value`` in ``unit``, rounded for a reader (``0.412 s``, ``37 ms``, ``812 req/s``)."""
    if value is None:
        return ""
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "failed":
        return f"{value:.0f} failed"
    if unit in ("ms", "req/s", "deploys/min", "MiB") or value >= 100:
        return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    return f"{value:g} {unit}".strip()


def table(rows: Iterable[Row]) -> str:
    """The markdown table of ``rows``: one line each, in order."""
    lines = [
        "| Benchmark | nap (median) | baseline (median) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        name = f"{row.name} ({row.note})" if row.note else row.name
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}x"
        lines.append(
            f"| {name} | {figure(row.median, row.unit)} | {figure(row.baseline, row.unit)} "
            f"| {ratio} | {row.target} | {met} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, str]:
    """What the run ran on: CPU model, cores, memory, kernel, docker version, load."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            models = [line for line in cpuinfo if line.startswith("model name")]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            kib = int(meminfo.readline().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except OSError:
        memory = "unknown"
    docker = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "kernel": f"{platform.system()} {platform.release()}",
        "docker": docker.stdout.strip() or "unknown",
        "Python": platform.python_version(),
        "load average at start": " ".join(f"{n:.2f}" for n in os.getloadavg()),
    }


def markdown(
    rows: list[Row],
    info: dict[str, str],
    command: str,
    notes: list[str],
    skipped: list[str],
    outputs: dict[str, str] | None = None,
) -> str:
    """The whole of docs/benchmarks.md."""
    met = sum(1 for row in rows if row.met)
    targets = sum(1 for row in rows if row.met is not None)
    parts = [
        "# Benchmarks",
        "",
        "Written by `bench/run`; do not edit by hand. Every figure is a median over paired",
        "runs: nap and its baseline measured in the same process, one after the other,",
        "on the same engine, registry and sshd. Ratios are nap / baseline. Times are",
        "wall-clock seconds unless a unit says otherwise.",
        "",
        f"Targets met: {met} of {targets}.",
        "",
        table(rows),
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        "",
        "## Reproduce",
        "",
        "As root, with the engine and registry up (`bash scripts/services.sh`), the",
        "base-image stand-ins built (`bash scripts/base-images.sh`) and the contrib plugins",
        "installed (as in CI):",
        "",
        "```",
        command,
        "```",
        "",
        "`--quick` runs fewer rounds at a smaller scale, `--only NAME ...` some benches;",
        "each bench is also a script of its own (`bench/NAME.py --help`).",
    ]
    if notes:
        parts += ["", "## Notes", "", *(f"- {note}" for note in notes)]
    if skipped:
        parts += ["", "## Not run", "", *(f"- {line}" for line in skipped)]
    for name, text in (outputs or {}).items():
        parts += [
            "",
            f"## Output of {name}",
            "",
            "(It returns no rows yet: its figures as it printed them.)",
        ]
        parts += ["", "```", text.rstrip(), "```"]
    return "\n".join(parts) + "\n"


def now() -> str:
    """The date and time in UTC, as the report prints it."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
