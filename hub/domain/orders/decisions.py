"""People deciding an order's fate: approve, reject, cancel.

Who may is :mod:`hub.domain.auth.policy`'s rule; from which states an order moves, and to which,
is the transition table's (:mod:`hub.domain.orders.lifecycle`). Every function takes a session
whose transaction the caller owns and raises :class:`~hub.domain.errors.DomainError` before
anything is committed when the change cannot be made.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.policy import Action, customer_scope, require
from hub.domain.auth.principal import Principal
from hub.domain.base import utcnow
from hub.domain.errors import DomainError, ErrorCode
from hub.domain.inventory.services import release_order
from hub.domain.orders import events
from hub.domain.orders.lifecycle import OrderAction, move, transition
from hub.domain.orders.models import ApprovalStep, Order, OrderEvent, StepStatus, TimelineKind
from hub.domain.orders.queries import reload_order, visible
from hub.domain.validation import check_clean

__all__ = ["MAX_COMMENT", "approve_order", "cancel_order", "reject_order"]

MAX_COMMENT = 2000


async def _take(session: AsyncSession, actor: Principal, order_id: int, action: OrderAction) -> None:
    """Move the order by ``action`` (:func:`~hub.domain.orders.lifecycle.move`), scoped to what
    ``actor`` may see.

    Raises:
        DomainError: NOT_FOUND when it does not exist or ``actor`` may not see it;
            INVALID_TRANSITION when it is in a state ``action`` does not start from.
    """
    if await move(session, order_id, action, customer_id=customer_scope(actor)):
        return
    current = await session.scalar(visible(select(Order.status).where(Order.id == order_id), actor))
    if current is None:
        raise DomainError.not_found("Order", "id")
    target = transition(action).target.value
    raise DomainError.one(
        ErrorCode.INVALID_TRANSITION, f"An order in status {current} cannot become {target}", "id"
    )


async def _decide_step(
    session: AsyncSession, actor: Principal, order_id: int, status: StepStatus, comment: str | None
) -> None:
    await session.execute(
        update(ApprovalStep)
        .where(ApprovalStep.order_id == order_id, ApprovalStep.status == StepStatus.PENDING.value)
        .values(status=status.value, decided_by=actor.email, decided_at=utcnow(), comment=comment)
    )


def _timeline(
    session: AsyncSession, order_id: int, kind: TimelineKind, message: str, actor: Principal
) -> None:
    session.add(
        OrderEvent(order_id=order_id, at=utcnow(), kind=kind.value, message=message, actor=actor.email)
    )


def _check_comment(text: str | None, field: str) -> str | None:
    """Stripped; blank is None. Raises: DomainError INVALID when too long."""
    if text is not None:
        text = check_clean(text, field).strip() or None
    if text is not None and len(text) > MAX_COMMENT:
        raise DomainError.invalid(f"{field} must be at most {MAX_COMMENT} characters", field)
    return text


def _check_required(text: str | None, field: str) -> str:
    """As :func:`_check_comment`; Raises: DomainError INVALID also when blank."""
    clean = _check_comment(text, field)
    if clean is None:
        raise DomainError.invalid(f"Give a {field}", field)
    return clean


async def approve_order(
    session: AsyncSession, actor: Principal, order_id: int, comment: str | None = None
) -> Order:
    """Decide the pending approval step: the order becomes APPROVED.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; NOT_FOUND;
            INVALID_TRANSITION unless PENDING_APPROVAL.
    """
    require(actor, Action.ORDER_DECIDE)
    comment = _check_comment(comment, "comment")
    await _take(session, actor, order_id, OrderAction.APPROVE)
    await _decide_step(session, actor, order_id, StepStatus.APPROVED, comment)
    _timeline(
        session,
        order_id,
        TimelineKind.APPROVED,
        f"Approved by {actor.email}" + (f": {comment}" if comment else ""),
        actor,
    )
    await events.record(session, events.approved(order_id))
    return await reload_order(session, actor, order_id)


async def reject_order(session: AsyncSession, actor: Principal, order_id: int, reason: str) -> Order:
    """Reject a pending order and release its stock.

    Raises:
        DomainError: PERMISSION_DENIED unless SALES_MANAGER or ADMIN; INVALID for a blank
            reason; NOT_FOUND; INVALID_TRANSITION unless PENDING_APPROVAL.
    """
    require(actor, Action.ORDER_DECIDE)
    clean = _check_required(reason, "reason")
    await _take(session, actor, order_id, OrderAction.REJECT)
    await _decide_step(session, actor, order_id, StepStatus.REJECTED, clean)
    released = await release_order(session, order_id)
    _timeline(
        session,
        order_id,
        TimelineKind.REJECTED,
        f"Rejected by {actor.email}: {clean}; {released} unit(s) released",
        actor,
    )
    await events.record(session, events.rejected(order_id, clean))
    return await reload_order(session, actor, order_id)


async def cancel_order(
    session: AsyncSession, actor: Principal, order_id: int, reason: str | None = None
) -> Order:
    """Cancel an order and release its stock exactly once.

    A customer user may cancel its own orders while PENDING_APPROVAL (CANCEL_OWN);
    SALES_MANAGER and ADMIN any order while PENDING_APPROVAL or APPROVED (CANCEL).

    Raises:
        DomainError: PERMISSION_DENIED for other staff roles; NOT_FOUND; INVALID_TRANSITION.
    """
    if actor.is_staff:
        require(actor, Action.ORDER_CANCEL_ANY)
        action = OrderAction.CANCEL
    else:
        action = OrderAction.CANCEL_OWN
    clean = _check_comment(reason, "reason")
    await _take(session, actor, order_id, action)
    await _decide_step(session, actor, order_id, StepStatus.SKIPPED, None)
    released = await release_order(session, order_id)
    _timeline(
        session, order_id, TimelineKind.CANCELLED,
        f"Cancelled by {actor.email}" + (f": {clean}" if clean else "") + f"; {released} unit(s) released",
        actor,
    )  # fmt: skip
    await events.record(session, events.cancelled(order_id, clean))
    return await reload_order(session, actor, order_id)
