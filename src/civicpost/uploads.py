"""Keeping an uploaded image: validated and stored by media.py, recorded once per content."""

from pathlib import Path

from sqlalchemy.orm import Session

from civicpost import media
from civicpost.models import Media, User


def record_upload(session: Session, *, data: bytes, user: User, media_dir: Path, max_bytes: int) -> media.StoredMedia:
    """Store the image and its Media row (the same picture twice is one row); raises media.MediaError."""
    stored = media.store_upload(data, media_dir=media_dir, max_bytes=max_bytes)
    if session.get(Media, stored.id) is None:
        session.add(Media(id=stored.id, mime_type=stored.mime_type, width=stored.width, height=stored.height,
                          size_bytes=stored.size_bytes, uploaded_by_id=user.id))
        session.flush()
    return stored
