from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from civicpost.db import Base


class InstanceValue(Base):
    """Facts about this installation, such as the check value of the secret key
    the data was written with."""

    __tablename__ = "instance_values"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

    @staticmethod
    def store(session: Session, key: str, value: str) -> None:
        """Set `key` to `value`, adding the row the first time."""
        row = session.get(InstanceValue, key)
        if row is None:
            session.add(InstanceValue(key=key, value=value))
        else:
            row.value = value
