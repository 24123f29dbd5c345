"""What a detector's decision does, for every outcome stream a source watches (a probe's model, the
team's traffic on a model): open or reopen the stream's incident, mark it flapping, note its
recovery. One place, so the probe runner and the traffic detector act alike; what is a source's own
(a probe's configuration errors) stays with it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.engine.incidents import IncidentEngine
from bot.engine.streams import Stream
from bot.sources.probes.detector import Action, Decision

log = logging.getLogger(__name__)


def act(
    engine: IncidentEngine,
    service: str,
    stream: Stream,
    decision: Decision,
    errors_since: Callable[[datetime], list[str]],
) -> None:
    """`errors_since`: the failures' kinds since the streak began, for the incident's first entry.
    The log names the stream by its source and key: `probe api`, `traffic traffic:checkout:<model>`."""
    name = f"{stream.source} {stream.key}"
    match decision.action:
        case Action.OPEN | Action.REOPEN:
            assert decision.since is not None
            incident = engine.stream_failing(
                service,
                stream,
                decision.since,
                decision.outcomes,
                reopen=decision.action == Action.REOPEN,
                errors=errors_since(decision.since),
            )
            log.info(
                "%s: %s incident #%s",
                name,
                decision.action,
                incident.id,
                extra={"incident": incident.id, "source": stream.source, "probe": stream.key},
            )
        case Action.FLAPPING:
            engine.stream_flapping(service, stream)
        case Action.RESOLVE:
            engine.stream_recovered(service, stream)
        case Action.SUPPRESSED:
            log.info("%s failing during the vendor's maintenance window: recorded, not alerted", name)
        case Action.CONFIG | Action.CONFIG_OK:  # a probe's own configuration: the probe runner says it
            pass
