"""The fuzz suite, bounded and seeded for CI: a few hundred generated inputs per target (see
tests/fuzzing.py for the targets and what each asserts; bench/fuzz.py runs ≥ 10,000 each)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzzing import TARGETS, FuzzWorld, drive

EXAMPLES = int(os.environ.get("STATUSBOT_FUZZ_EXAMPLES", "300"))
SEED = int(os.environ.get("STATUSBOT_FUZZ_SEED", "20260602"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzWorld]:
    fuzz = FuzzWorld.start(Path(tmp_path_factory.mktemp("fuzz")))
    yield fuzz
    fuzz.close()


@pytest.mark.parametrize("name", list(TARGETS))
def test_garbage_never_escapes_5xxs_opens_closes_or_pings(world: FuzzWorld, name: str) -> None:
    target = TARGETS[name](world)
    drive(target, EXAMPLES, SEED, strict=True)
    assert target.figures["examples"] >= EXAMPLES
