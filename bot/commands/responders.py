"""Who may ack, resolve and snooze: the one rule every chat platform applies.

Listed user ids (`STATUSBOT_RESPONDERS`) may; so may the members of the platform's own group of
responders (a user group, a role), which only the platform can look up; with neither set, anyone may.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.engine.events import Actor

Membership = Callable[[Actor, str], Awaitable[bool]]  # is this actor in that group? (the platform asks)


@dataclass(frozen=True)
class Responders:
    ids: frozenset[str]
    group: str | None = None  # the platform's group of responders, or None

    @property
    def anyone(self) -> bool:
        return not self.ids and self.group is None

    def check(self, member: Membership) -> Callable[[Actor], Awaitable[bool]]:
        """A `CommandContext.may_act` that asks `member` about the group only when the ids do not decide."""

        async def may_act(actor: Actor) -> bool:
            if self.anyone or actor.id in self.ids:
                return True
            return self.group is not None and await member(actor, self.group)

        return may_act
