"""What a viewer sees of the people on an order: the one rule for staff identities and internal
comments, applied wherever an order is shown (``decidedBy``, the step's ``comment``, the
timeline's ``message``).

- **Staff** see everything as stored: e-mail addresses, every comment.
- **A customer's users** see their own and their colleagues' e-mail addresses (users of the same
  customer), and every other person as the role they acted in: a decided step's role ("Sales
  manager"), else the person's staff role, else "Former user" for a user that no longer exists.
  Comments on an approval are internal (a note among staff about the customer, e.g. a credit
  remark) and are not shown to them; a rejection's reason and a cancellation's reason are: they are
  what the customer needs to know about its order.

The timeline stores a sentence written for staff (``"Rejected by <e-mail>: <reason>; …"``) and the
actor's e-mail beside it. A customer's sentence is rendered from the entry's kind and actor: the
leading ``"<Verb> by <actor>"`` is written again with the actor as the customer sees it, and an
approval's sentence ends there (its comment is internal). A stored sentence that does not start
as its kind writes it is shown as ``"<Verb> by <actor>"`` alone, so an e-mail never slips through.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.models import Role, User
from hub.domain.auth.principal import Principal
from hub.domain.orders.models import ApprovalStep, Order, OrderEvent, StepStatus, TimelineKind

__all__ = ["ROLE_LABELS", "EntryView", "OrderView", "People", "StepView", "order_views"]

ROLE_LABELS: dict[Role, str] = {
    Role.SALES_MANAGER: "Sales manager",
    Role.SALES: "Sales representative",
    Role.DIRECTOR: "Director",
    Role.FINANCE: "Finance",
    Role.WAREHOUSE: "Warehouse",
    Role.ADMIN: "Administrator",
}
"""How a customer sees a staff member, by role; the first the person holds, in this order."""
FORMER_USER = "Former user"

# Timeline kinds whose actor is a person, and the words their sentence starts with.
_VERBS = {
    TimelineKind.PLACED.value: "Order placed",
    TimelineKind.APPROVED.value: "Approved",
    TimelineKind.REJECTED.value: "Rejected",
    TimelineKind.CANCELLED.value: "Cancelled",
}
_DECIDED = {StepStatus.APPROVED.value, StepStatus.REJECTED.value}


@dataclass(frozen=True, slots=True)
class Person:
    """A user named on an order, as far as the rule needs them."""

    roles: frozenset[Role]
    customer_id: int | None


@dataclass(frozen=True, slots=True)
class People:
    """The users named on some orders, by e-mail (empty for a staff viewer: no look-up)."""

    by_email: dict[str, Person]


@dataclass(frozen=True, slots=True)
class StepView:
    decided_by: str | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class EntryView:
    at: datetime
    kind: str
    message: str


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order's people and comments as one viewer sees them; ``steps`` in the order's order."""

    steps: list[StepView]
    timeline: list[EntryView]


def _named(order: Order) -> Iterable[str]:
    for s in order.steps:
        if s.decided_by:
            yield s.decided_by
    for e in order.events:
        if e.actor and e.kind in _VERBS:
            yield e.actor


async def people(session: AsyncSession, viewer: Principal, orders: Sequence[Order]) -> People:
    """The users a customer's user sees on ``orders`` other than itself: one indexed read, and
    none for staff or when the viewer is the only person named."""
    if viewer.is_staff:
        return People({})
    emails = {e for o in orders for e in _named(o)} - {viewer.email}
    if not emails:
        return People({})
    rows = await session.execute(
        select(User.email, User.roles_text, User.customer_id).where(User.email.in_(sorted(emails)))
    )
    return People(
        {
            email: Person(frozenset(Role(r) for r in roles.split(",") if r), customer_id)
            for email, roles, customer_id in rows.all()
        }
    )


def _label(viewer: Principal, email: str, acted_as: str | None, known: People) -> str:
    """``email`` as ``viewer`` sees it (see the module's docstring)."""
    if viewer.is_staff or email == viewer.email:
        return email
    person = known.by_email.get(email)
    if person is not None and person.customer_id is not None and person.customer_id == viewer.customer_id:
        return email  # a colleague
    if acted_as is not None and acted_as in Role.__members__ and Role(acted_as) in ROLE_LABELS:
        return ROLE_LABELS[Role(acted_as)]
    if person is None:
        return FORMER_USER
    return next((label for role, label in ROLE_LABELS.items() if role in person.roles), FORMER_USER)


def _step(viewer: Principal, step: ApprovalStep, known: People) -> StepView:
    if viewer.is_staff:
        return StepView(step.decided_by, step.comment)
    acted_as = step.role if step.status in _DECIDED else None
    decided_by = None if step.decided_by is None else _label(viewer, step.decided_by, acted_as, known)
    return StepView(decided_by, step.comment if step.status == StepStatus.REJECTED.value else None)


def _entry(viewer: Principal, order: Order, event: OrderEvent, known: People) -> EntryView:
    verb = _VERBS.get(event.kind)
    if viewer.is_staff or verb is None or not event.actor:
        return EntryView(event.at, event.kind, event.message)
    acted_as = next(
        (s.role for s in order.steps if s.decided_by == event.actor and s.status == event.kind), None
    )
    who = _label(viewer, event.actor, acted_as, known)
    head = f"{verb} by {event.actor}"
    if event.kind == TimelineKind.APPROVED.value or not event.message.startswith(head):
        return EntryView(event.at, event.kind, f"{verb} by {who}")
    return EntryView(event.at, event.kind, f"{verb} by {who}{event.message[len(head) :]}")


def view(viewer: Principal, order: Order, known: People) -> OrderView:
    """``order``'s steps and timeline as ``viewer`` sees them."""
    return OrderView(
        steps=[_step(viewer, s, known) for s in order.steps],
        timeline=[_entry(viewer, order, e, known) for e in order.events],
    )


async def order_views(session: AsyncSession, viewer: Principal, orders: Sequence[Order]) -> list[OrderView]:
    """Each of ``orders`` as ``viewer`` sees it (:func:`view`), its people read at most once."""
    known = await people(session, viewer, orders)
    return [view(viewer, o, known) for o in orders]
