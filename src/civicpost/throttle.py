"""Sign-in throttling that slows guessing down without locking anyone out for another's guesses.

Failed sign-ins are counted in `sign_in_throttle` (shared by every web process)
under keys made from what was typed and where it came from, never from whether
the account exists:

- the account: a hash of the normalised email, so an unknown address is
  throttled exactly like a real one;
- the client address (an IPv6 address by its /64, which one machine owns whole);
- the pair of them.

Each key allows some failures free, then asks for a wait (5 seconds) that
doubles with every further failure, up to a cap. While a wait lasts, attempts
are refused without checking the password and without counting, so a crowd
gets no more guesses at an account than one guesser would. The pair (one guesser at one account) and
the address (one guesser trying many accounts) wait up to 15 minutes; the
account only up to a minute, because the owner shares that key with whoever is
guessing at their account from elsewhere.

A browser that has signed in to the account before carries a "known browser"
cookie proving it (an HMAC of the account and a random nonce). For it only
its own failures count (per account and browser): a crowd guessing at the
account, or a colleague guessing from the same office address, cannot slow
the owner's own browser down at all.
"""

import hashlib
import hmac
import ipaddress
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from civicpost.db import utcnow
from civicpost.models import SignInThrottle


@dataclass(frozen=True)
class Rule:
    free: int  # failures before any wait
    cap: timedelta  # the longest wait


ACCOUNT = Rule(free=10, cap=timedelta(minutes=1))
ADDRESS = Rule(free=20, cap=timedelta(minutes=15))
PAIR = Rule(free=4, cap=timedelta(minutes=15))
BROWSER = Rule(free=4, cap=timedelta(minutes=15))
# Second-factor codes (civicpost.identity.factors): the password is already right, so only the
# account is counted; six digits allow few guesses before the wait.
FACTOR = Rule(free=5, cap=timedelta(minutes=15))
# Sign-ups at /subscribe (civicpost.subscribers.signup): every one counts, per address typed (its keyed
# digest) and per client address, so a script can neither flood one inbox nor sign up the city.
SIGN_UP_EMAIL = Rule(free=3, cap=timedelta(minutes=15))
SIGN_UP_ADDRESS = Rule(free=20, cap=timedelta(minutes=15))
RULES = {"a": ACCOUNT, "i": ADDRESS, "p": PAIR, "b": BROWSER, "f": FACTOR, "s": SIGN_UP_EMAIL, "r": SIGN_UP_ADDRESS}
# The first wait; each further failure doubles it, up to the rule's cap.
FIRST_WAIT = timedelta(seconds=5)
# A key with no failure for this long starts again from nothing.
FORGET_AFTER = timedelta(hours=1)
KNOWN_BROWSERS_KEPT = 5


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]


def account_digest(email: str) -> str:
    return _digest("account", email.strip().lower())


def address_of(host: str | None) -> str:
    try:
        ip = ipaddress.ip_address(host or "")
    except ValueError:
        return host or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Keys:
    """The throttle keys of one sign-in attempt."""

    account: str
    checked: tuple[str, ...]  # whose waits apply
    counted: tuple[str, ...]  # where a failure is counted
    forgotten: tuple[str, ...]  # cleared by a successful sign-in


def keys_for(*, email: str, address: str | None, browser: str | None = None) -> Keys:
    """`browser`: the nonce of a valid known-browser cookie for this email, if any."""
    account = account_digest(email)
    if browser:
        own = f"b:{account}:{_digest('browser', browser)}"
        return Keys(account=account, checked=(own,), counted=(own,), forgotten=(own,))
    where = _digest("address", address_of(address))
    keys = (f"a:{account}", f"i:{where}", f"p:{account}:{where}")
    return Keys(account=account, checked=keys, counted=keys, forgotten=(keys[2],))


def factor_keys(*, email: str) -> Keys:
    """The throttle key of second-factor codes typed for one account, wherever they come from."""
    key = f"f:{account_digest(email)}"
    return Keys(account=account_digest(email), checked=(key,), counted=(key,), forgotten=(key,))


def sign_up_keys(*, digests: list[str], address: str | None) -> Keys:
    """`digests`: keyed digests of the email address and number typed (never the plain values)."""
    keys = (*(f"s:{d[:40]}" for d in digests), f"r:{_digest('sign-up', address_of(address))}")
    return Keys(account="", checked=keys, counted=keys, forgotten=())


def wait_after(failures: int, rule: Rule) -> timedelta:
    beyond = failures - rule.free
    if beyond <= 0:
        return timedelta(0)
    return min(FIRST_WAIT * 2 ** min(beyond - 1, 20), rule.cap)


def wait_for(session: Session, keys: Keys, *, now: datetime | None = None) -> timedelta:
    """How long this attempt must wait before a password is even checked (zero: go ahead)."""
    now = now or utcnow()
    rows = session.execute(
        select(SignInThrottle.wait_until).where(
            SignInThrottle.key.in_(keys.checked), SignInThrottle.last_failed_at > now - FORGET_AFTER
        )
    ).scalars()
    return max((until - now for until in rows if until and until > now), default=timedelta(0))


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(SignInThrottle)


def record_failure(session: Session, keys: Keys, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    table = SignInThrottle.__table__.c
    stale = table.last_failed_at <= now - FORGET_AFTER
    for key in keys.counted:
        # One statement per key, atomic under concurrent sign-ins in other processes.
        upsert = _insert(session).values(key=key, failures=1, first_failed_at=now, last_failed_at=now, wait_until=None)
        failures = session.execute(
            upsert.on_conflict_do_update(
                index_elements=[table.key],
                set_={
                    "failures": case((stale, 1), else_=table.failures + 1),
                    "first_failed_at": case(
                        (stale, literal(now, table.first_failed_at.type)), else_=table.first_failed_at),
                    "last_failed_at": now,
                },
            ).returning(table.failures)
        ).scalar_one()
        wait = wait_after(failures, RULES[key[0]])
        if wait:
            session.execute(update(SignInThrottle).where(SignInThrottle.key == key).values(wait_until=now + wait))


def forget(session: Session, keys: Keys) -> None:
    session.execute(delete(SignInThrottle).where(SignInThrottle.key.in_(keys.forgotten)))


def unlock(session: Session, *, email: str) -> int:
    """Lift every wait on an account (not on addresses, which other accounts share)."""
    account = account_digest(email)
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]  # a DELETE gives a CursorResult
        delete(SignInThrottle).where(
            or_(
                SignInThrottle.key == f"a:{account}",
                SignInThrottle.key.startswith(f"p:{account}:"),
                SignInThrottle.key.startswith(f"b:{account}:"),
                SignInThrottle.key == f"f:{account}",
            )
        )
    )
    return result.rowcount or 0


@dataclass(frozen=True)
class AccountState:
    failures: int
    wait_until: datetime | None


def account_state(session: Session, *, email: str, now: datetime | None = None) -> AccountState:
    """Failed sign-ins at this account lately (from anywhere), for an administrator."""
    now = now or utcnow()
    account = account_digest(email)
    rows = session.execute(
        select(SignInThrottle.failures, SignInThrottle.wait_until).where(
            or_(
                SignInThrottle.key == f"a:{account}",
                SignInThrottle.key.startswith(f"b:{account}:"),
            ),
            SignInThrottle.last_failed_at > now - FORGET_AFTER,
        )
    ).all()
    waits = [w for _, w in rows if w and w > now]
    return AccountState(failures=sum(f for f, _ in rows), wait_until=max(waits, default=None))


def sweep(session: Session, *, now: datetime | None = None) -> None:
    """Drop keys nobody has failed at for a while and that ask for no wait."""
    now = now or utcnow()
    session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.last_failed_at <= now - FORGET_AFTER,
            or_(SignInThrottle.wait_until.is_(None), SignInThrottle.wait_until <= now),
        )
    )


def in_words(wait: timedelta) -> str:
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# --- Known browsers -----------------------------------------------------------


def _proof(secret: bytes, email: str, nonce: str) -> str:
    message = f"known-browser\x00{account_digest(email)}\x00{nonce}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def known_browser(secret: bytes, *, email: str, cookie: str | None) -> str | None:
    """The nonce of the cookie's entry for this email, if it carries a valid one."""
    for entry in (cookie or "").split("~")[:KNOWN_BROWSERS_KEPT]:
        nonce, _, proof = entry.partition(".")
        if nonce and proof and hmac.compare_digest(proof.encode(), _proof(secret, email, nonce).encode()):
            return nonce
    return None


def remember_browser(secret: bytes, *, email: str, cookie: str | None) -> str:
    """The cookie value after a successful sign-in: this account's entry first, a few others kept."""
    nonce = known_browser(secret, email=email, cookie=cookie) or secrets.token_urlsafe(12)
    mine = f"{nonce}.{_proof(secret, email, nonce)}"
    others = [e for e in (cookie or "").split("~") if e and e != mine and "." in e]
    return "~".join([mine, *others][:KNOWN_BROWSERS_KEPT])
