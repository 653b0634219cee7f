"""Which secret key the data was written with, checked when a process starts.

Channel credentials are sealed with a key derived from CIVICPOST_SECRET_KEY.
Started with another key, the service used to run until the first publish
failed to open them. Now the first start stores a check value (an HMAC of a
fixed label under the key, which reveals nothing about the key), and every
later start compares: a different key stops the process with one message.
"""

import hashlib
import hmac

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from civicpost import audit
from civicpost.config import ConfigError
from civicpost.db import transaction, utcnow
from civicpost.models import Channel, InstanceValue

KEY_CHECK = "secret_key_check"
_LABEL = b"civicpost: the key the data was written with"

MISMATCH = (
    "CIVICPOST_SECRET_KEY is not the key this database's data was written with, so the channel "
    "credentials stored in it cannot be read. Start with the key the data was written with (in "
    "development: the .secret file beside the SQLite database). If that key is lost for good, run "
    "`civicpost secret-key reset` with the new key set: it forgets every channel's stored credentials "
    "and adopts the new key; then enter each channel's credentials again on its staff page."
)
NO_SCHEMA = "the database has no schema yet (or an old one): run `civicpost db upgrade` first"


def check_value(key: str) -> str:
    return hmac.new(key.encode(), _LABEL, hashlib.sha256).hexdigest()


def verify(sessions: sessionmaker[Session], key: str) -> None:
    """Remember the key on first start; refuse, with MISMATCH, a different one later."""
    for _ in range(2):
        try:
            with transaction(sessions) as session:
                stored = session.get(InstanceValue, KEY_CHECK)
                if stored is None:
                    session.add(InstanceValue(key=KEY_CHECK, value=check_value(key)))
                    return
                if not hmac.compare_digest(stored.value, check_value(key)):
                    raise ConfigError(MISMATCH)
                return
        except IntegrityError:
            continue  # another process stored its value first: compare with that one
        except (OperationalError, ProgrammingError) as exc:
            raise ConfigError(NO_SCHEMA) from exc
    raise ConfigError(MISMATCH)


def matches(session: Session, key: str) -> bool | None:
    """True or False, or None while no key has been recorded."""
    stored = session.get(InstanceValue, KEY_CHECK)
    return None if stored is None else hmac.compare_digest(stored.value, check_value(key))


def reset(session: Session, *, key: str) -> list[Channel]:
    """Adopt `key` after the old one was lost: credentials sealed with the old
    key are unreadable, so they are forgotten, and each of those channels
    needs a person to enter them again. Returns those channels."""
    now = utcnow()
    forgotten = list(session.scalars(select(Channel).where(Channel.credentials_encrypted.is_not(None))))
    for channel in forgotten:
        channel.credentials_encrypted = None
        channel.needs_attention = True
        channel.last_error = "the secret key was replaced: enter this channel's credentials again"
        channel.last_error_at = now
        audit.record(session, actor=None, actor_label="civicpost secret-key reset",
                     action="channel.credentials_forgotten", object_type="channel", object_id=channel.id,
                     detail={"reason": "secret key reset"})
    InstanceValue.store(session, KEY_CHECK, check_value(key))
    session.flush()
    return forgotten
