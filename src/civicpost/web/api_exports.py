"""Signed records exports under /api/v1 (administrators only), and the public key that checks them."""

import re
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from pydantic import ConfigDict, Field, field_validator
from sqlalchemy import select

from civicpost.errors import Conflict, NotFound
from civicpost.exports import jobs, signing
from civicpost.models import Export
from civicpost.schemas import Strict
from civicpost.web.deps import AdminUser, SessionDep, SettingsDep, one_trip
from civicpost.web.params import IdPath, SlugQuery
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import ERRORS, Instant, Shape
from civicpost.web.views import instant

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)
public_router = APIRouter()
LISTED = 100


class ExportIn(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    date_from: date = Field(alias="from",
                            description="the first day (YYYY-MM-DD, the city's time zone) of announcements created")
    date_to: date = Field(alias="to", description="the last day, included")
    department: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
                                   description="only this department (its slug); absent: every department")

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _written_as_a_day(cls, value: Any) -> Any:
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError("write the day as YYYY-MM-DD, e.g. 2026-01-31")
        return value


class ExportOut(Shape):
    id: int
    status: str  # pending (waiting for a worker), running, finished, failed
    done: int  # announcements written so far
    total: int  # announcements in the range (known once a worker has started)
    date_from: str
    date_to: str
    department: str | None
    requested_by: str
    created_at: Instant
    finished_at: Instant | None
    size_bytes: int | None
    error: str | None
    # Where to download the signed zip once finished; None before, and for exports the command line wrote.
    download_url: str | None


def export_out(export: Export, settings: Any) -> ExportOut:
    ready = export.status == "finished" and not export.by_command
    return ExportOut(id=export.id, status=export.status, done=export.done, total=export.total,
                     date_from=export.date_from.isoformat(), date_to=export.date_to.isoformat(),
                     department=export.department_slug, requested_by=export.requested_by,
                     created_at=instant(export.created_at, settings.zone) or "",
                     finished_at=instant(export.finished_at, settings.zone), size_bytes=export.size_bytes,
                     error=export.error, download_url=f"/api/v1/exports/{export.id}/download" if ready else None)


def recent(session: Any) -> list[Export]:
    return list(session.scalars(select(Export).order_by(Export.id.desc()).limit(LISTED)))


@router.post("/exports", status_code=202, response_model=ExportOut)
@one_trip
def start_export(body: ExportIn, session: SessionDep, admin: AdminUser, settings: SettingsDep) -> ExportOut:
    """Ask for a signed records export of the announcements created in the range (audited); a worker writes it.
    Follow `GET /api/v1/exports/{id}` for progress and the download link."""
    export = jobs.request(session, actor=admin, date_from=body.date_from, date_to=body.date_to,
                          department=body.department)
    return export_out(export, settings)


@router.get("/exports", response_model=list[ExportOut])
@one_trip
def list_exports(session: SessionDep, admin: AdminUser, settings: SettingsDep,
                 department: SlugQuery = None) -> list[ExportOut]:
    """The most recent exports, newest first."""
    return [export_out(e, settings) for e in recent(session) if department is None or e.department_slug == department]


def _export(session: Any, export_id: int) -> Export:
    export = session.get(Export, export_id)
    if export is None:
        raise NotFound(f"no export {export_id}")
    return export


@router.get("/exports/{export_id}", response_model=ExportOut)
@one_trip
def show_export(export_id: IdPath, session: SessionDep, admin: AdminUser, settings: SettingsDep) -> ExportOut:
    """An export's status, its progress (done of total) and, when finished, its download link."""
    return export_out(_export(session, export_id), settings)


@router.get("/exports/{export_id}/download", response_class=FileResponse,
            responses={200: {"content": {"application/zip": {}}, "description": "the signed zipped bag"}})
@one_trip
def download_export(export_id: IdPath, session: SessionDep, admin: AdminUser) -> FileResponse:
    """The signed zipped BagIt bag of a finished export."""
    return export_file(session, export_id)


def export_file(session: Any, export_id: int) -> FileResponse:
    export = _export(session, export_id)
    if export.by_command:
        raise Conflict(f"export {export_id} was written by the command line to a file of its own; "
                       "it is not offered for download")
    if export.status != "finished" or not export.file_path:
        raise Conflict(f"export {export_id} is {export.status}, not finished: follow /api/v1/exports/{export_id}")
    path = Path(export.file_path)
    if not path.is_file():
        raise NotFound(f"the file of export {export_id} is no longer on the server; ask for the export again")
    return FileResponse(path, media_type="application/zip",
                        filename=f"civicpost-export-{export.id}-{export.date_from}-{export.date_to}.zip")


@public_router.get("/.well-known/civicpost-export.pub", response_class=Response, include_in_schema=True,
                   responses={200: {"content": {"application/x-pem-file": {}}}})
async def export_public_key(request: Request) -> Response:
    """The Ed25519 public key (PEM) that checks the signature of every export of this city."""
    key = signing.public_pem(signing.private_key(request.app.state.settings))
    return Response(key, media_type="application/x-pem-file", headers={"Cache-Control": "public, max-age=3600"})
