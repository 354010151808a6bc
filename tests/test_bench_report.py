"""bench/run's report writer: rows in, docs/benchmarks.md out (no timing asserted)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load(
    name: str, path: Path, loader: importlib.machinery.SourceFileLoader | None = None
) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


report = load("bench_report", BENCH / "report.py")


def test_a_paired_row_states_its_ratio_target_and_whether_it_was_met() -> None:
    met = report.Row.paired("deploy vs by hand", 1.0, 1.0, "s", 1.05)
    missed = report.Row.paired("shell vs python", 40.0, 20.0, "ms", 1.5)
    higher = report.Row.paired("router vs direct", 900.0, 1000.0, "req/s", 0.8, at_least=True)

    assert (met.ratio, met.target, met.met) == (1.0, "<= 1.05x", True)
    assert (missed.ratio, missed.met) == (2.0, False)
    assert (higher.target, higher.met) == (">= 0.8x", True)


def test_rows_become_one_markdown_table_in_order() -> None:
    rows = [
        report.Row.paired("deploy of a change vs by hand", 0.812, 0.75, "s", 1.05),
        report.Row.at_most("no-change redeploy", 0.21, "s", 0.3),
        report.Row.none_failed("requests failed during redeploys", 0, "1000 sent"),
        report.Row("memory per app", 2.5, "MiB"),
    ]

    lines = report.table(rows).splitlines()

    assert lines[0].startswith("| Benchmark | nap (median) | baseline (median) | ratio |")
    assert len(lines) == 2 + len(rows)
    assert (
        lines[2]
        == "| deploy of a change vs by hand | 0.812 s | 0.750 s | 1.08x | <= 1.05x | **no** |"
    )
    assert lines[3] == "| no-change redeploy | 0.210 s |  |  | <= 0.3 s | yes |"
    assert lines[4] == (
        "| requests failed during redeploys (1000 sent) | 0 failed |  |  | 0 failed | yes |"
    )
    assert lines[5] == "| memory per app | 2.5 MiB |  |  |  |  |"


def test_the_report_has_the_machine_the_command_and_what_did_not_run() -> None:
    rows = [report.Row.at_most("no-change redeploy", 0.21, "s", 0.3)]
    info = {"CPU": "Test CPU", "cores": "2", "docker": "26.1.5"}

    text = report.markdown(
        rows,
        info,
        "/opt/nap/venv/bin/python bench/run --quick",
        ["other work ran on the machine"],
        ["bench/scale.py (scale): not in this tree, skipped"],
        {"bench/legacy.py": "figure 1\n"},
    )

    assert text.startswith("# Benchmarks\n")
    assert "Targets met: 1 of 1." in text
    assert "| no-change redeploy | 0.210 s |" in text
    assert "- CPU: Test CPU\n- cores: 2\n- docker: 26.1.5\n" in text
    assert "```\n/opt/nap/venv/bin/python bench/run --quick\n```" in text
    assert "- other work ran on the machine" in text
    assert "- bench/scale.py (scale): not in this tree, skipped" in text
    assert "## Output of bench/legacy.py\n\n(It returns no rows yet" in text
    assert "```\nfigure 1\n```" in text


def test_bench_run_takes_rows_from_bench_and_output_from_a_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # bench/run puts bench/ first
    loader = importlib.machinery.SourceFileLoader("bench_run", str(BENCH / "run"))
    run = load("bench_run", BENCH / "run", loader)
    (tmp_path / "rows.py").write_text(
        "from report import Row\n\n"
        "def bench(quick):\n    return [Row('x', 1.0 if quick else 2.0, 's')]\n"
    )
    (tmp_path / "script.py").write_text("import sys\nprint('figure', sys.argv[1:])\n")
    monkeypatch.setattr(run, "BENCH", tmp_path)
    monkeypatch.setitem(run.SCRIPT_ARGS, "script", (["--full"], ["--small"]))

    rows, output = run.run_one("rows", True)
    assert ([(row.name, row.median) for row in rows], output) == ([("x", 1.0)], "")
    assert run.run_one("script", True) == ([], "figure ['--small']\n")
    assert run.run_one("script", False) == ([], "figure ['--full']\n")
