"""The long fuzz run: ≥ 10,000 generated inputs per target (tests/fuzzing.py), every problem counted.

    python bench/fuzz.py [--examples 10000] [--seed 20260602] [--targets parsers,poll,...]

Prints one line per target and a total; the first input of each problem kind, if any. The targets
and their invariants are the CI suite's (tests/test_fuzz.py), run without stopping at a problem.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

# bench/discord.py would shadow the discord package: the repository, not bench/, goes on the path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [HERE.parent.as_posix(), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

from tests.fuzzing import TARGETS, FuzzWorld, drive  # noqa: E402

KINDS = ("escaped", "5xx", "spurious", "mentions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20260602)
    parser.add_argument("--targets", default=",".join(TARGETS))
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.CRITICAL)  # refusals log one line a minute; the counts are below
    world = FuzzWorld.start()
    total = {kind: 0 for kind in ("examples", *KINDS)}
    started = time.perf_counter()
    try:
        for name in args.targets.split(","):
            target = TARGETS[name](world)
            began = time.perf_counter()
            drive(target, args.examples, args.seed, strict=False)
            figures = {kind: target.figures[kind] for kind in ("examples", *KINDS)}
            print(
                f"fuzz {name}: {figures['examples']} examples in {time.perf_counter() - began:.0f} s: "
                + ", ".join(f"{figures[k]} {k}" for k in KINDS),
                flush=True,
            )
            for kind, first in target.first.items():
                print(f"  first {kind}: {first}")
            for kind in total:
                total[kind] += figures[kind]
    finally:
        world.close()
    print(
        f"fuzz total: {total['examples']} examples over {len(args.targets.split(','))} targets in "
        f"{time.perf_counter() - started:.0f} s: " + ", ".join(f"{total[k]} {k}" for k in KINDS)
    )


if __name__ == "__main__":
    main()
