"""The card tells the truth about timing, and one outage seen by a probe and by the traffic is one
incident; an incident of impact `none` is tracked quietly until its impact rises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from bot.chat.discord.render import card_embed
from bot.chat.slack.render import parent_blocks
from bot.clock import ManualClock
from bot.engine import durations
from bot.engine.events import IncidentObserved, UpdateObserved
from bot.engine.incidents import IncidentEngine
from bot.engine.live_cards import card_in
from bot.engine.reminders import ReminderPolicy
from bot.engine.streams import Stream
from bot.engine.views import IncidentCard
from bot.store.db import Database
from bot.store.models import Incident, Reminder

T0 = datetime(2026, 6, 2, 14, 0, tzinfo=UTC)
OPUS = "claude-opus-4-5"
API = Stream.probe_model("api", OPUS)


def figures(signalled: datetime | None, vendor: datetime | None) -> durations.Durations:
    return durations.compute(
        started=T0,
        detected=signalled or T0,
        vendor_first_update=vendor,
        acknowledged=None,
        resolved=None,
        vendor_started=None,
        vendor_resolved=None,
        now=T0 + timedelta(hours=1),
        signalled=signalled,
    )


def test_the_lead_is_said_only_when_our_signal_came_first() -> None:
    ours = figures(T0, T0 + timedelta(minutes=6, seconds=12))
    assert ours.timing == "seen 6m 12s before the vendor posted"
    theirs = figures(T0 + timedelta(minutes=2, seconds=5), T0)
    assert theirs.timing == "the vendor posted first, 2m 05s before our own signal" and theirs.lead is None
    assert figures(T0, T0).timing == "seen as the vendor posted"
    assert figures(None, T0).timing is None  # only the vendor saw it
    assert figures(T0, None).timing is None  # only we did: the card says "not yet acknowledged"


@given(st.integers(-400 * 86400, 400 * 86400), st.booleans())
def test_no_figure_about_timing_is_ever_negative(offset: int, ours: bool) -> None:
    shown = figures(T0 if ours else None, T0 + timedelta(seconds=offset))
    assert shown.lead is None or shown.lead >= timedelta(0)
    assert shown.behind is None or shown.behind >= timedelta(0)
    assert "-" not in (shown.timing or "") + shown.lead_text


def vendor(
    impact: str = "minor", title: str = "Elevated errors on Claude Opus 4.5", at: datetime = T0
) -> IncidentObserved:
    return IncidentObserved(
        service="claude",
        source="statuspage",
        upstream_id="v1",
        title=title,
        status="investigating",
        impact=impact,
        started_at=T0,
        updates=(UpdateObserved(f"v1-{impact}", "investigating", "Looking", at),),
    )


def make_engine(tmp_path: Path) -> tuple[IncidentEngine, ManualClock]:
    db = Database(f"sqlite:///{tmp_path / 'timing.db'}")
    db.upgrade()
    clock = ManualClock(T0)
    return IncidentEngine(db, ["console"], clock, reminder_policy=ReminderPolicy()), clock


def the_card(engine: IncidentEngine) -> IncidentCard:
    with engine.db.session() as session:
        return card_in(session, session.exec(select(Incident)).one())


def test_vendor_first_the_card_says_so_on_every_platform(tmp_path: Path) -> None:
    engine, clock = make_engine(tmp_path)
    engine.apply_incident(vendor())
    clock.advance(4 * 60 + 30)
    engine.stream_failing("claude", API, T0 - timedelta(minutes=1), ["failure"] * 5)  # its failures began earlier
    view = the_card(engine)
    assert view.timing == "the vendor posted first, 4m 30s before our own signal"
    assert view.seen_by == f"probe api ({'failing'})"
    slack = {f.text.split("\n")[0]: f.text.split("\n")[1] for f in parent_blocks(view, clock.now())[1].fields}
    assert slack["*Lead*"] == "the vendor posted first, 4m 30s before our own signal"
    assert slack["*Seen by*"] == "probe api (failing)"
    discord = {f.name: f.value for f in card_embed(view, clock.now()).fields}
    assert discord["Lead"] == "the vendor posted first, 4m 30s before our own signal"


def test_a_probe_and_the_traffic_failing_for_one_outage_are_one_incident(tmp_path: Path) -> None:
    engine, clock = make_engine(tmp_path)
    engine.stream_failing("claude", API, T0, ["failure"] * 5)
    clock.advance(60)
    engine.stream_failing("claude", Stream.traffic("checkout", OPUS), T0, ["failure"])
    clock.advance(60)
    engine.stream_failing("claude", Stream.traffic("checkout", "claude-sonnet-4-6"), T0, ["failure"])
    view = the_card(engine)
    assert [s.key for s in view.streams] == [
        "api",
        f"traffic:checkout:{OPUS}",
        "traffic:checkout:claude-sonnet-4-6",
    ]
    assert view.title == (
        f"claude: probe api, traffic from checkout on {OPUS} and traffic from checkout on claude-sonnet-4-6 see errors"
    )
    clock.advance(60)
    engine.apply_incident(vendor(at=clock.now()))  # the vendor's incident naming Opus 4.5 joins it: one thread
    view = the_card(engine)
    assert view.vendor_confirmed and view.title == "Elevated errors on Claude Opus 4.5"
    assert view.timing == "seen 3m 00s before the vendor posted"


def test_impact_none_is_tracked_quietly_until_it_rises(tmp_path: Path) -> None:
    engine, clock = make_engine(tmp_path)
    engine.apply_incident(vendor("none", "Degraded performance on the Console"))
    with engine.db.session() as session:
        assert session.exec(select(Reminder)).all() == []
    view = the_card(engine)
    assert view.quiet and "no impact: tracked quietly, no reminders" in view.remarks
    clock.advance(60)
    engine.apply_incident(vendor("major", "Degraded performance on the Console"))
    with engine.db.session() as session:
        [reminder] = session.exec(select(Reminder)).all()
    assert reminder.due_at == clock.now() + timedelta(minutes=15)
    assert not the_card(engine).quiet


def test_models_in_use_default_to_the_probed_ones_and_those_the_traffic_reported(tmp_path: Path) -> None:
    from bot.engine.in_use import ModelsInUse
    from bot.store.models import TrafficRollup

    db = Database(f"sqlite:///{tmp_path / 'in_use.db'}")
    db.upgrade()
    with db.session() as session:
        session.add(
            TrafficRollup(
                service="claude",
                source="checkout",
                model="claude-3-5-haiku-20241022",
                start=T0,
                seconds=60,
                sender="calls:app",
                ok=10,
                received_at=T0,
            )
        )
        session.commit()
        in_use = ModelsInUse(probed=(OPUS,))
        assert in_use.ids(session, "claude") == {OPUS, "claude-3-5-haiku-20241022"}
        assert in_use.affected(session, "claude", ["haiku-3.5"]) and in_use.affected(session, "claude", ["opus"])
        assert not in_use.affected(session, "claude", ["sonnet-4.6"])
        assert in_use.affected(session, "claude", [])  # names none: it may concern anyone
        configured = ModelsInUse(configured=("claude-sonnet-4-6",), probed=(OPUS,))
        assert configured.affected(session, "claude", ["sonnet-4.6"]) and not configured.affected(
            session, "claude", ["opus-4.5"]
        )
        assert ModelsInUse().affected(session, "other", ["opus-4.5"])  # nothing known in use: not marked
