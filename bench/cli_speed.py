"""Wall time of the commands a person types: `statusbot demo` (its whole replay), then `--help`, `status`,
`incidents`, `show` and `stats`, each run as its own process on the demo's database (the median of the
runs, and the CPU time the process used, which the machine's other load disturbs less), with the heavy
libraries each one loaded."""

from __future__ import annotations

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
COMMANDS = (["--help"], ["status"], ["incidents"], ["show", "2"], ["stats"])


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
    with tempfile.TemporaryDirectory(prefix="statusbot-cli-bench-") as folder:
        here = Path(folder)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{here / 'statusbot-demo.db'}"}
        print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
        demos = [timed(["demo"], env, here) for _ in range(DEMO_RUNS)]
        print(
            f"statusbot demo       wall median {statistics.median(d[0] for d in demos):.2f} s "
            f"(runs: {', '.join(f'{d[0]:.2f}' for d in demos)}), with its default pacing between steps"
        )
        print(f"{RUNS} runs each, on the demo's database:")
        for args in COMMANDS:
            runs = [timed(args, env, here) for _ in range(RUNS)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(
                f"statusbot {' '.join(args):<10} wall median {wall:.3f} s (min {min(r[0] for r in runs):.3f} s), "
                f"CPU {cpu:.3f} s; loads: {loaded(args, env, here)}"
            )


if __name__ == "__main__":
    main()
