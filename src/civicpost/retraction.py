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
from civicpost.platforms import DELETABLE, RECONCILABLE, Adapter, PermanentError
from civicpost.publishing import Prepared

# Where a person looks when civicpost cannot.
_WHERE_TO_LOOK = {
    "email": "the mailing list's archive",
    "webhook": "the receiving system",
}


@dataclass(frozen=True)
class TakenBack:
    outcome: Literal["deleted", "not_posted", "for_a_person"]
    note: str | None = None
    # The ids deleted, first part first: the record keeps where the post was.
    remote_ids: tuple[str, ...] = ()


def take_back(prepared: Prepared, adapter: Adapter) -> TakenBack:
    """Delete the delivery's post wherever it is; raises PlatformError when
    the platform refuses or cannot be reached (the worker retries transient ones)."""
    delivery, platform = prepared.delivery, prepared.channel.platform
    known = list(delivery.rendition.get("remote_part_ids") or ([delivery.remote_id] if delivery.remote_id else []))
    if delivery.status != DeliveryStatus.published:
        if platform not in RECONCILABLE:
            where = _WHERE_TO_LOOK.get(platform, f"the {platform} account")
            return TakenBack(
                "for_a_person",
                f"retracted while a send may have gone out, and a {platform} post cannot be looked up: "
                f"check {where} and remove the post by hand if it is there",
            )
        found = adapter.find(prepared.outgoing)
        if found is not None:
            known += [remote_id for remote_id in found.part_ids or [found.remote_id] if remote_id not in known]
        if not known:
            return TakenBack("not_posted", f"retracted before it was posted: {platform} has no such post")
    if platform not in DELETABLE:
        raise PermanentError(f"a {platform} post cannot be taken back")
    # The last part first: a thread never shows replies to a deleted post.
    for remote_id in reversed(known):
        adapter.delete(remote_id)
    return TakenBack("deleted", remote_ids=tuple(known))
