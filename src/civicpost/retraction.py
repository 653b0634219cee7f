"""Taking a post back after a retract (SPEC §8.1 "Retract wins").

A published delivery knows its post's ids and deletes them. A delivery that
may have posted (a send that timed out, a worker that died mid-request, a
thread with parts out) is looked up first where the platform can be asked, and
whatever is found is deleted. Where it cannot be asked (email, webhook), the
delivery is left for a person, with a sentence saying what to check.
"""

from dataclasses import dataclass
from typing import Literal

from civicpost.models import DeliveryStatus
from civicpost.platforms import Adapter, PermanentError, spec
from civicpost.publishing import Prepared


@dataclass(frozen=True)
class TakenBack:
    outcome: Literal["deleted", "not_posted", "for_a_person"]
    note: str | None = None
    # The ids deleted, first part first: the record keeps where the post was.
    remote_ids: tuple[str, ...] = ()


def take_back(prepared: Prepared, adapter: Adapter) -> TakenBack:
    """Delete the delivery's post wherever it is; raises PlatformError when
    the platform refuses or cannot be reached (the worker retries transient ones)."""
    delivery, platform = prepared.delivery, spec(prepared.channel.platform)
    known = list(delivery.rendition.get("remote_part_ids") or ([delivery.remote_id] if delivery.remote_id else []))
    if delivery.status != DeliveryStatus.published:
        if not platform.capabilities.find:
            return TakenBack(
                "for_a_person",
                f"retracted while a send may have gone out, and a {platform.label} post cannot be looked up: "
                f"check {platform.where_to_look or 'the account'} and remove the post by hand if it is there",
            )
        found = adapter.find(prepared.outgoing)
        if found is not None:
            known += [remote_id for remote_id in found.part_ids or [found.remote_id] if remote_id not in known]
        if not known:
            return TakenBack("not_posted", f"retracted before it was posted: {platform.label} has no such post")
    if not platform.capabilities.delete:
        # Instagram's API cannot delete a post: say where a person deletes it.
        where = delivery.remote_url or platform.where_to_look or "the account"
        raise PermanentError(f"{platform.label} does not let civicpost delete a post; delete it by hand: {where}")
    # The last part first: a thread never shows replies to a deleted post.
    for remote_id in reversed(known):
        adapter.delete(remote_id)
    return TakenBack("deleted", remote_ids=tuple(known))
