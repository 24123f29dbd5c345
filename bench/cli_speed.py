"""Wall time of the commands a person types: `statusbot demo` (its whole replay), then `--help`, `status`,
`incidents`, `show` and `stats`, each run as its own process on the demo's database (the median of the
runs, and the CPU time the process used, which the machine's other load disturbs less), with the heavy
libraries each one loaded; and `postmortem`, which draws its chart in a child.

Python's bytecode cache is on, as on any machine after statusbot's first run (pip compiles what it
installs; an editable install's modules are compiled by their first import): a warm-up run of each
command comes first, uncounted. The sandbox sets PYTHONDONTWRITEBYTECODE, which would have every run
compile statusbot's modules again."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 9
DEMO_RUNS = 3
COMMANDS = (["--help"], ["status"], ["incidents"], ["show", "2"], ["stats"], ["postmortem", "2"])


def timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"statusbot {' '.join(args)} failed: {done.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def loaded(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Which heavy libraries the command imported."""
    probe = (
        "import runpy, sys; sys.argv = ['statusbot', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('bot', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy = ('slack_bolt', 'discord', 'matplotlib', 'alembic', 'rich', 'jinja2', 'aiohttp', 'sqlalchemy')\n"
        "print(' '.join(m for m in heavy if m in sys.modules) or 'none', file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, *args], env=env, cwd=cwd, capture_output=True, text=True)
    return done.stderr.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--demo-runs", type=int, default=DEMO_RUNS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="statusbot-cli-bench-") as folder:
        here = Path(folder)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{here / 'statusbot-demo.db'}"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
        timed(["demo", "--delay", "0"], env, here)  # warm-up: the bytecode cache
        demos = [timed(["demo"], env, here) for _ in range(args.demo_runs)]
        print(
            f"statusbot demo       wall median {statistics.median(d[0] for d in demos):.2f} s "
            f"(runs: {', '.join(f'{d[0]:.2f}' for d in demos)}), CPU {statistics.median(d[1] for d in demos):.2f} s, "
            "with its default pacing between steps"
        )
        print(f"{args.runs} runs each, on the demo's database:")
        for command in COMMANDS:
            timed(command, env, here)  # warm-up
            runs = [timed(command, env, here) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(
                f"statusbot {' '.join(command):<12} wall median {wall:.3f} s (min {min(r[0] for r in runs):.3f} s), "
                f"CPU {cpu:.3f} s; loads: {loaded(command, env, here)}"
            )
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
