from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from civicpost.db import Base


class InstanceValue(Base):
    """Facts about this installation, such as the check value of the secret key
    the data was written with."""

    __tablename__ = "instance_values"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
