"""The JSON API under /api/v1 (SPEC §5). Handlers are thin: parse, call a service, shape."""

from functools import partial
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Body,
    File,
    Form,
    Query,
    Request,
    UploadFile,
)
from sqlalchemy import select
from starlette.exceptions import HTTPException

from civicpost import (
    accounts,
    audit,
    channels,
    decoding,
    media,
    quiet,
    redirects,
    uploads,
)
from civicpost.db import utcnow
from civicpost.drafting import access, break_glass, follow_ups, listing, previews, search, workflow
from civicpost.errors import Invalid, NotFound, ServiceError
from civicpost.fanout import queue as fanout
from civicpost.identity import methods, scopes
from civicpost.models import Delivery, Department, State
from civicpost.platforms import PLATFORMS, spec
from civicpost.schemas import (
    AnnouncementIn,
    AnnouncementPatch,
    ApproveIn,
    ChannelIn,
    ChannelPatch,
    CredentialsIn,
    DepartmentIn,
    PublishNowIn,
    RejectIn,
    RetractIn,
    ReviewIn,
    UserIn,
)
from civicpost.web import views
from civicpost.web.deps import (
    AdminUser,
    BoxDep,
    ConnectionDep,
    CurrentReader,
    CurrentUser,
    RendererDep,
    SessionDep,
    SettingsDep,
    in_request_thread,
    one_trip,
    require_scope,
)
from civicpost.web.params import IdPath, SlugQuery
from civicpost.web.people_schemas import UserOut
from civicpost.web.quick_route import QuickRoute
from civicpost.web.shapes import (
    ERRORS,
    PROBLEM,
    AnnouncementOut,
    AnnouncementPage,
    AuditTrail,
    ChannelList,
    ChannelOut,
    ClickList,
    DeliveryOut,
    DepartmentList,
    DepartmentOut,
    MediaOut,
    RenditionList,
)

router = APIRouter(prefix="/api/v1", responses=ERRORS, route_class=QuickRoute)


# The busiest two first: a request's route is found by trying each in order,
# and each try costs a few microseconds (FastAPI's included routers).
@router.post("/announcements", status_code=201, response_model=AnnouncementOut)
@one_trip(on_loop=lambda given: True)  # on SQLite, when no one else is writing (deps.one_trip)
def create_announcement(
    body: AnnouncementIn, session: SessionDep, user: CurrentReader, settings: SettingsDep, renderer: RendererDep
) -> dict[str, Any]:
    announcement, shown = workflow.create(session, author=user, data=body, zone=settings.zone, renderer=renderer)
    # A new draft has no deliveries; its author signed in as a Reader (announcement.author is not loaded).
    return _full(session, announcement, renderer, settings, new=True, shown=shown, author=user.email)


# On the loop (deps.one_trip): a page is one index range scan of at most 201 rows; a search
# (`q`) may read many more, and goes through a thread.
@router.get("/announcements", response_model=AnnouncementPage)
@one_trip(on_loop=lambda given: not given.get("q"))
def list_announcements(
    connection: ConnectionDep,
    user: CurrentReader,
    settings: SettingsDep,
    state: State | None = None,
    department: SlugQuery = None,
    emergency: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=search.MAX_QUERY, description="words in the title or text")] = None,
) -> dict[str, Any]:
    dept = accounts.department_named(connection, department) if department else None
    words = search.words(q) if q and q.strip() else None
    page = listing.list_page(connection, user=user, state=state, department=dept, emergency=emergency,
                             limit=limit, cursor=cursor, words=words)
    times = views.instants(settings.zone)
    return {"items": [views.summary_row(row, times) for row in page.items], "next_cursor": page.next_cursor}


@router.post("/departments", status_code=201, response_model=DepartmentOut)
@one_trip
def create_department(body: DepartmentIn, session: SessionDep, admin: AdminUser) -> dict[str, Any]:
    return views.department(accounts.create_department(session, actor=admin, slug=body.slug, name=body.name))


@router.get("/departments", response_model=DepartmentList)
@one_trip
def list_departments(session: SessionDep, _: CurrentUser) -> dict[str, Any]:
    rows = session.scalars(select(Department).order_by(Department.slug))
    return {"items": [views.department(d) for d in rows]}


@router.post("/users", status_code=201, response_model=UserOut)
@one_trip
def create_user(body: UserIn, session: SessionDep, admin: AdminUser, settings: SettingsDep) -> UserOut:
    user = accounts.create_user(
        session, actor=admin, email=body.email, name=body.name, role=body.role,
        departments=body.departments, password=body.password,
    )
    return UserOut.of(user, settings.zone)


@router.get("/users/me", response_model=UserOut)
@one_trip
def me(session: SessionDep, user: CurrentUser, settings: SettingsDep) -> UserOut:
    return UserOut.of(user, settings.zone, factors=methods.factor_kinds(session, [user.id])[user.id])


@router.post("/channels", status_code=201, response_model=ChannelOut)
@one_trip
def create_channel(
    body: ChannelIn, session: SessionDep, admin: AdminUser, box: BoxDep, settings: SettingsDep
) -> dict[str, Any]:
    given_credentials = body.credentials.model_dump(exclude_none=True)
    given_settings = body.settings.model_dump(exclude_none=True)
    channels.check_addresses(body.platform, given_settings, allow_private_network=settings.allow_private_network)
    department = accounts.department_by_slug(session, body.department)
    channel = channels.create_channel(
        session, actor=admin, box=box, department=department, platform=body.platform, name=body.name,
        language=body.language, credentials=given_credentials, settings=given_settings, track_links=body.track_links,
    )
    return views.channel(channel, settings.zone, quiet.of_channel(session, channel, now=utcnow()))


@router.get("/channels", response_model=ChannelList)
@one_trip
def list_channels(
    session: SessionDep, user: CurrentUser, settings: SettingsDep, department: SlugQuery = None
) -> dict[str, Any]:
    department_id = accounts.department_by_slug(session, department).id if department else None
    rows = channels.list_channels(session, department_id=department_id)
    found = {q.channel_id: q for q in quiet.survey(session, now=utcnow(), active_only=False,
                                                   channel_ids=[c.id for c in rows])}
    return {"items": [views.channel(c, settings.zone, found[c.id]) for c in rows]}


@router.get("/channels/{channel_id}", response_model=ChannelOut)
@one_trip
def get_channel(channel_id: IdPath, session: SessionDep, _: CurrentUser, settings: SettingsDep) -> dict[str, Any]:
    channel = channels.get_channel(session, channel_id)
    return views.channel(channel, settings.zone, quiet.of_channel(session, channel, now=utcnow()))


@router.patch("/channels/{channel_id}", response_model=ChannelOut)
@one_trip
def change_channel(
    channel_id: IdPath, body: ChannelPatch, session: SessionDep, admin: AdminUser, settings: SettingsDep
) -> dict[str, Any]:
    channel = channels.get_channel(session, channel_id)
    channels.change(session, actor=admin, channel=channel, track_links=body.track_links, active=body.active,
                    stale_after_days=body.stale_after_days)
    return views.channel(channel, settings.zone, quiet.of_channel(session, channel, now=utcnow()))


@router.put("/channels/{channel_id}/credentials", response_model=ChannelOut)
@one_trip
def replace_credentials(
    channel_id: IdPath, body: CredentialsIn, session: SessionDep, admin: AdminUser, box: BoxDep, settings: SettingsDep
) -> dict[str, Any]:
    channel = channels.get_channel(session, channel_id)
    channels.replace_credentials(session, actor=admin, box=box, channel=channel, credentials=body.credentials)
    return views.channel(channel, settings.zone, quiet.of_channel(session, channel, now=utcnow()))


def _full(session, announcement, renderer, settings, *, new: bool = False,
          shown: previews.Preview | None = None, author: str | None = None) -> dict[str, Any]:
    shown = shown or previews.of_announcement(renderer, announcement)
    deliveries = [] if new else workflow.deliveries_of(session, announcement)
    data = views.announcement(announcement, settings.zone, renditions=shown.renditions, deliveries=deliveries,
                              fingerprint=shown.fingerprint, author=author)
    if any(spec(d.channel.platform).capabilities.fanout for d in deliveries if d.channel.platform in PLATFORMS):
        data["residents"] = fanout.counts(session, announcement.id)
    return data


@router.get("/announcements/{announcement_id}", response_model=AnnouncementOut)
@one_trip
def get_announcement(
    announcement_id: IdPath, session: SessionDep, user: CurrentUser, settings: SettingsDep, renderer: RendererDep
) -> dict[str, Any]:
    announcement = access.get_visible(session, announcement_id, viewer=user)
    return _full(session, announcement, renderer, settings)


@router.patch("/announcements/{announcement_id}", response_model=AnnouncementOut)
@one_trip
def edit_announcement(
    announcement_id: IdPath,
    body: AnnouncementPatch,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    renderer: RendererDep,
) -> dict[str, Any]:
    announcement = access.get_visible(session, announcement_id, viewer=user)
    workflow.edit(session, actor=user, announcement=announcement, patch=body, zone=settings.zone, renderer=renderer)
    return _full(session, announcement, renderer, settings)


@router.post("/announcements/{announcement_id}/submit", response_model=AnnouncementOut)
@one_trip
def submit(
    announcement_id: IdPath, session: SessionDep, user: CurrentUser, settings: SettingsDep, renderer: RendererDep
) -> dict[str, Any]:
    announcement = access.get_visible(session, announcement_id, viewer=user)
    workflow.submit(session, actor=user, announcement=announcement, renderer=renderer)
    return _full(session, announcement, renderer, settings)


@router.post(
    "/announcements/{announcement_id}/approve", openapi_extra={"requestBody": {"required": True}},
    response_model=AnnouncementOut,
)
@one_trip
def approve(
    announcement_id: IdPath,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    renderer: RendererDep,
    # Declared without `| None` so the documented body is ApproveIn itself; a missing body arrives as None.
    body: Annotated[ApproveIn, Body()] = None,  # type: ignore[assignment]
) -> dict[str, Any]:
    announcement = access.get_visible(session, announcement_id, viewer=user)
    if body is None or body.fingerprint is None:
        raise Invalid(
            f'send the fingerprint of what you reviewed: {{"fingerprint": "..."}}, as shown by '
            f"GET /api/v1/announcements/{announcement_id}",
            errors=[
                {"field": "fingerprint", "message": "required: the fingerprint shown by GET /api/v1/announcements/{id}"}
            ],
        )
    workflow.approve(session, actor=user, announcement=announcement, renderer=renderer,
                     seen_fingerprint=body.fingerprint, confirm_suspended=body.confirm_suspended)
    return _full(session, announcement, renderer, settings)


@router.post("/announcements/{announcement_id}/reject", response_model=AnnouncementOut)
@one_trip
def reject(
    announcement_id: IdPath,
    body: RejectIn,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    renderer: RendererDep,
) -> dict[str, Any]:
    announcement = access.get_visible(session, announcement_id, viewer=user)
    workflow.reject(session, actor=user, announcement=announcement, reason=body.reason)
    return _full(session, announcement, renderer, settings)


@router.post("/announcements/{announcement_id}/publish-now", response_model=AnnouncementOut)
@one_trip
def publish_now(
    announcement_id: IdPath,
    body: PublishNowIn,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    renderer: RendererDep,
) -> dict[str, Any]:
    """Break glass: an emergency publisher publishes an emergency announcement of their department at once, with
    no second person; every channel is due now, and an approver's sign-off falls due."""
    announcement = access.get_visible(session, announcement_id, viewer=user)
    break_glass.publish_now(session, actor=user, announcement=announcement, renderer=renderer, reason=body.reason or "",
                            review_hours=settings.emergency_review_hours,
                            suspend_department=body.suspend_department)
    return _full(session, announcement, renderer, settings)


@router.post("/announcements/{announcement_id}/review", response_model=AnnouncementOut)
@one_trip
def review(
    announcement_id: IdPath,
    session: SessionDep,
    user: CurrentUser,
    settings: SettingsDep,
    renderer: RendererDep,
    body: Annotated[ReviewIn | None, Body()] = None,
) -> dict[str, Any]:
    """An approver other than the publisher signs off a break-glass publish."""
    announcement = access.get_visible(session, announcement_id, viewer=user)
    break_glass.review(session, actor=user, announcement=announcement, note=body.note if body else None)
    return _full(session, announcement, renderer, settings)


@router.post("/announcements/{announcement_id}/cancel", response_model=AnnouncementOut)
@one_trip
def cancel(
    announcement_id: IdPath, request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep,
    renderer: RendererDep,
) -> dict[str, Any]:
    """Stop an announcement before it publishes: the author's before approval (draft scope), an approver's
    once it is scheduled (approve scope)."""
    announcement = access.get_visible(session, announcement_id, viewer=user)
    if announcement.state == State.scheduled:
        require_scope(request, user, scopes.APPROVE)
    workflow.cancel(session, actor=user, announcement=announcement)
    return _full(session, announcement, renderer, settings)


@router.post("/announcements/{announcement_id}/retract", status_code=202, response_model=AnnouncementOut)
@one_trip
def retract(
    announcement_id: IdPath, session: SessionDep, user: CurrentUser, settings: SettingsDep, renderer: RendererDep,
    body: RetractIn | None = None,
) -> dict[str, Any]:
    """Take every post down; the record stays, and the public address answers 410 saying when (and why)."""
    announcement = access.get_visible(session, announcement_id, viewer=user)
    follow_ups.retract(session, actor=user, announcement=announcement, renderer=renderer,
                       reason=body.reason if body else None)
    return _full(session, announcement, renderer, settings)


@router.get("/announcements/{announcement_id}/audit", response_model=AuditTrail)
@one_trip
def audit_trail(
    announcement_id: IdPath, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> dict[str, Any]:
    announcement = access.get_visible(session, announcement_id, viewer=user)
    events = audit.trail(session, object_type="announcement", object_id=announcement.id)
    return {"items": [views.audit_event(e, settings.zone) for e in events]}


@router.get("/announcements/{announcement_id}/clicks", response_model=ClickList)
@one_trip
def link_clicks(announcement_id: IdPath, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Clicks on the announcement's link per channel that counts them (link tracking)."""
    announcement = access.get_visible(session, announcement_id, viewer=user)
    counted = redirects.clicks(session, announcement.id)
    return {"items": [{"channel_id": channel_id, "clicks": counted[channel_id]} for channel_id in sorted(counted)]}


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
@one_trip
def retry_delivery(
    delivery_id: IdPath, session: SessionDep, user: CurrentUser, settings: SettingsDep
) -> dict[str, Any]:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or not access.can_view(user, access.get(session, delivery.announcement_id)):
        raise NotFound(f"no delivery with id {delivery_id}")  # another department's answers the same
    workflow.retry(session, actor=user, delivery=delivery)
    session.flush()
    return views.delivery(delivery, settings.zone)


@router.post(
    "/media", status_code=201,
    responses={
        415: {**PROBLEM, "description": "not an image of a kind civicpost accepts (JPEG, PNG, GIF, WebP)"},
        503: {**PROBLEM, "description": "every image decode place is taken; try again after Retry-After seconds"},
    },
    response_model=MediaOut,
)
async def upload_media(
    request: Request,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="a JPEG, PNG, GIF or WebP image")],
    department: Annotated[
        str | None,
        Form(max_length=64, description="the slug of the department the image is for; "
                                        "optional for a person in exactly one department"),
    ] = None,
) -> dict[str, Any]:
    """Validate an image by decoding it, strip its metadata (GPS!), store it by content, for one department.

    The decode holds no transaction and no request thread (see civicpost.decoding):
    sign in and find the department in a read, decode, then record the row in a short write.
    """
    department_id = await in_request_thread(
        request, lambda session, user: uploads.department_for(session, user=user, slug=department).id, write=False
    )
    gate = request.app.state.decodes
    prepare = partial(uploads.prepare, file.file, department_id=department_id, media_dir=settings.media_dir,
                      max_bytes=settings.max_upload_bytes)
    try:
        stored = await gate.run_async(prepare)
    except decoding.Busy as busy:
        raise HTTPException(503, detail=busy.message, headers={"Retry-After": str(busy.retry_after)}) from None
    except media.MediaError as exc:
        raise ServiceError.with_status(exc.status, exc.message) from None
    await in_request_thread(
        request, lambda session, user: uploads.record(session, stored=stored, department_id=department_id, user=user),
        write=True,
    )
    return {"id": stored.id, "mime_type": stored.mime_type, "width": stored.width, "height": stored.height,
            "size_bytes": stored.size_bytes}


@router.post("/previews", response_model=RenditionList)
@one_trip
def preview(
    body: AnnouncementIn, session: SessionDep, user: CurrentUser, renderer: RendererDep, settings: SettingsDep
) -> dict[str, Any]:
    """Render what each channel would receive; nothing is stored."""
    shown = previews.of_request(session, renderer, user=user, data=body, zone=settings.zone)
    return {"renditions": [r.as_dict() for r in shown.renditions]}
