"""A department's Slack or Teams incoming webhook, set by an admin.

The address is the secret (whoever has it can post to the team's chat): it
is sealed with the credentials' key, and pages show only its host.
"""

import unicodedata
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicpost import audit, net
from civicpost.errors import Invalid
from civicpost.models import Department, DepartmentHook, Notification, User
from civicpost.security import CredentialBox

MAX_URL = 2048


def _refuse(message: str) -> Invalid:
    return Invalid(message, errors=[{"field": "url", "message": message}])


def checked_url(url: str, *, allow_private_network: bool) -> str:
    """The address, or Invalid saying what to fix."""
    url = url.strip()
    if not url:
        raise _refuse("Enter the incoming webhook address from Slack or Teams, or remove the hook instead")
    if len(url) > MAX_URL:
        raise _refuse(f"The address is longer than {MAX_URL} characters; paste the webhook address alone")
    if any(unicodedata.category(c).startswith(("C", "Z")) for c in url):
        raise _refuse("The address contains spaces or invisible characters; paste it again without them")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise _refuse("The address cannot be read: copy it from Slack or Teams again") from None
    allowed = ("https", "http") if allow_private_network else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise _refuse("The address must start with https:// and name a host: copy it from Slack or Teams again")
    if not allow_private_network:
        try:
            net.check_url(url)
        except net.AddressRefused as exc:
            raise _refuse(f"civicpost may not send there: {exc}") from None
        except net.Unresolvable as exc:
            raise _refuse(f"{exc}: check the address") from None
    return url


def set_hook(session: Session, *, actor: User, department: Department, url: str, box: CredentialBox,
             allow_private_network: bool) -> DepartmentHook:
    url = checked_url(url, allow_private_network=allow_private_network)
    hook = session.get(DepartmentHook, department.id) or DepartmentHook(department_id=department.id)
    hook.url_sealed = box.seal({"url": url})
    hook.host = urlsplit(url).hostname or ""
    session.add(hook)
    session.flush()
    audit.record(session, actor=actor, action="department.hook_set", object_type="department",
                 object_id=department.id, detail={"host": hook.host})
    return hook


def remove_hook(session: Session, *, actor: User, department: Department) -> bool:
    hook = session.get(DepartmentHook, department.id)
    if hook is None:
        return False
    session.delete(hook)
    session.flush()
    audit.record(session, actor=actor, action="department.hook_removed", object_type="department",
                 object_id=department.id)
    return True


def hook_url(session: Session, department_id: int, box: CredentialBox) -> str | None:
    hook = session.get(DepartmentHook, department_id)
    return str(box.open(hook.url_sealed).get("url") or "") or None if hook else None


def last_posts(session: Session, department_id: int, limit: int = 5) -> list[Notification]:
    """The hook's latest messages, for the department page (sent, waiting, failed)."""
    return list(session.scalars(
        select(Notification).where(Notification.department_id == department_id)
        .order_by(Notification.id.desc()).limit(limit)))
