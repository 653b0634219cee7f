"""Channel pages for admins: list with health, create, detail, replace credentials, test connection."""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from civicpost import accounts, audit, channels, quiet, renewal
from civicpost.db import utcnow
from civicpost.errors import Invalid, NotFound, ServiceError
from civicpost.models import Channel, Department, User
from civicpost.platforms import (
    PLATFORMS,
    AccessEnds,
    AddressRefused,
    CredentialsError,
    PlatformError,
    build_adapter,
    spec,
)
from civicpost.schemas import ChannelIn
from civicpost.security import CredentialBox, CredentialsUnreadable
from civicpost.web.deps import BoxDep, SessionDep, SettingsDep, request_transaction
from civicpost.web.pages import admin_forms as fields
from civicpost.web.pages.admin_forms import service_errors, validation_errors
from civicpost.web.pages.common import (
    AdminPageUser,
    Csrf,
    admin_only,
    flash,
    redirect,
    render,
    staff_user,
)

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

CHECK_TIMEOUT = 10
CHANNEL_IN: TypeAdapter = TypeAdapter(ChannelIn)


async def form_data(request: Request) -> FormData:
    # Starlette caches the parsed form, so the CSRF check and the handler share it.
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


def channels_page(request: Request, session: Session, user: User, zone, *, platform: str | None = None,
                  form: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                  status_code: int = 200) -> HTMLResponse:
    rows = session.scalars(select(Channel).join(Department).order_by(Department.name, Channel.name, Channel.id)).all()
    chosen = platform if platform in PLATFORMS else None
    context = {
        "channels": rows,
        "quiet": {q.channel_id: q for q in quiet.survey(session, now=utcnow(), active_only=False)},
        "departments": session.scalars(select(Department).order_by(Department.name)).all(),
        "platforms": fields.PLATFORM_LABELS,
        "platform_names": fields.PLATFORM_NAMES,
        "platform": chosen,
        "credential_inputs": fields.CREDENTIALS.get(chosen or "", []),
        "setting_inputs": fields.SETTINGS.get(chosen or "", []),
        "form": form or {"department": "", "name": "", "language": "en"},
        "errors": errors or {},
        "zone": zone,
    }
    return render(request, "staff/channels.html", context, user=user, status_code=status_code)


@router.get("/channels", response_class=HTMLResponse)
def list_channels(request: Request, session: SessionDep, settings: SettingsDep, user: AdminPageUser,
                  platform: str | None = None) -> HTMLResponse:
    return channels_page(request, session, user, settings.zone, platform=platform)


@router.post("/channels", dependencies=[Csrf])
def create_channel(request: Request, session: SessionDep, settings: SettingsDep, box: BoxDep, user: AdminPageUser,
                   form: FormDep) -> Response:
    platform = str(form.get("platform", ""))
    values = {key: str(form.get(key, "")) for key in ("department", "name", "language")}
    values.update(fields.settings_form_values(form, platform))

    def again(errors: dict[str, str], status: int) -> HTMLResponse:
        return channels_page(request, session, user, settings.zone, platform=platform, form=values, errors=errors,
                             status_code=status)

    if platform not in PLATFORMS:
        return again({"platform": "Choose a platform"}, 422)
    credentials, channel_settings, errors = fields.read(form, platform)
    body = None
    try:
        body = CHANNEL_IN.validate_python(dict(
            department=values["department"], platform=platform, name=values["name"],
            language=values["language"].strip() or "en", credentials=credentials, settings=channel_settings))
    except ValidationError as exc:
        errors = {**validation_errors(exc), **errors}
    try:
        # The platform's own rules too, so one round trip shows every problem.
        channels.validate(platform, credentials, channel_settings)
        channels.check_addresses(platform, channel_settings, allow_private_network=settings.allow_private_network)
    except Invalid as exc:
        for name, message in service_errors(exc, field="form").items():
            errors.setdefault(name, message)
    if errors or body is None:
        return again(_credential_words(errors, platform), 422)
    try:
        department = accounts.department_by_slug(session, body.department)
        channel = channels.create_channel(
            session, actor=user, box=box, department=department, platform=body.platform, name=body.name,
            language=body.language, credentials=body.credentials.model_dump(exclude_none=True),
            settings=body.settings.model_dump(exclude_none=True),
        )
    except NotFound:
        return again({"department": "Choose a department from the list"}, 422)
    except ServiceError as exc:
        return again(_credential_words(service_errors(exc, field="form"), platform), exc.status)
    flash(request, f"Added the channel {channel.name}. Use Test connection to check its credentials.")
    return redirect(f"/staff/channels/{channel.id}")


def _credential_words(errors: dict[str, str], platform: str) -> dict[str, str]:
    """The service's messages are for programs; the form's are for a person at
    it. Missing credentials are named together by their labels, beside the group."""
    labels = {i.key: i.label for i in fields.CREDENTIALS.get(platform, [])}
    missing = [key.removeprefix("credentials.") for key, message in errors.items()
               if key.startswith("credentials.") and message in REQUIRED]
    for key in missing:
        del errors[f"credentials.{key}"]
    if missing:
        names = [labels.get(key, key) for key in missing]
        errors["credentials"] = "Fill in " + (
            names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        )
    for name, message in errors.items():
        if message in REQUIRED:
            errors[name] = "Fill this in"
    return errors


# The words of "this field is missing", from the request's shape and from the platform's rules.
REQUIRED = ("Is required for this platform", "Fill this in")


def credential_status(box: CredentialBox, channel: Channel) -> tuple[list[tuple[str, bool]], str | None]:
    """Which credential keys are set (never their values), or why they cannot be read."""
    try:
        stored = set(box.open(channel.credentials_encrypted))
    except CredentialsUnreadable as exc:
        return [], str(exc)
    inputs = fields.CREDENTIALS.get(channel.platform, [])
    known = [(i.label, i.key in stored) for i in inputs]
    others = sorted(stored - {i.key for i in inputs})
    return known + [(key, True) for key in others], None


def channel_page(request: Request, session: Session, user: User, box: CredentialBox, zone, channel: Channel, *,
                 errors: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    status, unreadable = credential_status(box, channel)
    labels = {i.key: i.label for i in fields.SETTINGS.get(channel.platform, [])}
    context = {
        "channel": channel,
        "quiet": quiet.of_channel(session, channel, now=utcnow()),
        "platform_label": fields.PLATFORM_NAMES.get(channel.platform, channel.platform),
        "settings_shown": [(labels.get(k, k), fields.shown(v)) for k, v in sorted(channel.settings.items())],
        "credential_status": status,
        "unreadable": unreadable,
        "credential_inputs": fields.CREDENTIALS.get(channel.platform, []),
        "errors": errors or {},
        "zone": zone,
        "base_url": request.app.state.settings.base_url.rstrip("/"),
    }
    return render(request, "staff/channel.html", context, user=user, status_code=status_code)


@router.get("/channels/{channel_id:id}", response_class=HTMLResponse)
def show_channel(channel_id: int, request: Request, session: SessionDep, settings: SettingsDep, box: BoxDep,
                 user: AdminPageUser) -> HTMLResponse:
    return channel_page(request, session, user, box, settings.zone, channels.get_channel(session, channel_id))


@router.post("/channels/{channel_id:id}/credentials", dependencies=[Csrf])
def replace_credentials(channel_id: int, request: Request, session: SessionDep, settings: SettingsDep, box: BoxDep,
                        user: AdminPageUser, form: FormDep) -> Response:
    channel = channels.get_channel(session, channel_id)
    try:
        channels.replace_credentials(session, actor=user, box=box, channel=channel,
                                     credentials=fields.read_credentials(form, channel.platform))
    except ServiceError as exc:
        return channel_page(request, session, user, box, settings.zone, channel,
                            errors=_credential_words(service_errors(exc, field="credentials"), channel.platform),
                            status_code=exc.status)
    flash(request, "Replaced the credentials. Use Test connection to check them.")
    return redirect(f"/staff/channels/{channel.id}")


@router.post("/channels/{channel_id:id}/use", dependencies=[Csrf])
def change_use(channel_id: int, request: Request, session: SessionDep, user: AdminPageUser,
               form: FormDep) -> Response:
    channel = channels.get_channel(session, channel_id)
    channels.change(session, actor=user, channel=channel, active=form.get("active") == "yes",
                    track_links=form.get("track_links") == "yes")
    said = "offered for new announcements" if channel.active else "retired: offered for no new announcement"
    counting = "counts clicks on links" if channel.track_links else "sends links as they are"
    flash(request, f"Saved: {channel.name} is {said}, and {counting}.")
    return redirect(f"/staff/channels/{channel.id}")


@dataclass
class CheckOutcome:
    ok: bool
    message: str = ""
    credentials_problem: bool = False
    address_refused: bool = False
    facts: dict[str, Any] = field(default_factory=dict)
    # When the channel's access ends, where the platform tells (None: it does not end, or it will not say).
    access_ends_at: datetime | None = None
    access_told: bool = False


def run_check(box: CredentialBox, platform: str, sealed: bytes | None, settings: dict[str, Any], *,
              allow_private_network: bool) -> CheckOutcome:
    """Ask the platform; the adapter refuses an internal address before the token leaves."""
    try:
        adapter = build_adapter(platform, box.open(sealed), settings, timeout=CHECK_TIMEOUT,
                                allow_private_network=allow_private_network)
        outcome = CheckOutcome(True, facts=adapter.check() or {})
        if isinstance(adapter, AccessEnds):
            outcome.access_ends_at, outcome.access_told = adapter.access_ends_at(), True
        return outcome
    except AddressRefused as exc:
        return CheckOutcome(False, str(exc), credentials_problem=True, address_refused=True)
    except (CredentialsUnreadable, CredentialsError) as exc:
        return CheckOutcome(False, str(exc) or type(exc).__name__, credentials_problem=True)
    except PlatformError as exc:
        return CheckOutcome(False, str(exc) or type(exc).__name__)
    except Exception as exc:  # a diagnostic button reports whatever went wrong, in a sentence
        log.warning("test connection of a %s channel failed", platform, exc_info=True)
        return CheckOutcome(False, f"unexpected {type(exc).__name__} (details are in the service's log)")


def record_check(session: Session, channel: Channel, outcome: CheckOutcome, *, actor: User | None) -> None:
    now = utcnow()
    if outcome.ok:
        channel.last_success_at = now
        channel.needs_attention = False
        channel.settings = learned_settings(channel, outcome.facts)
        if outcome.access_told:
            channel.token_expires_at = outcome.access_ends_at
    else:
        channel.last_error, channel.last_error_at = outcome.message, now
        channel.needs_attention = channel.needs_attention or outcome.credentials_problem
    audit.record(session, actor=actor, action="channel.checked", object_type="channel", object_id=channel.id,
                 detail={"ok": outcome.ok, **({} if outcome.ok else {"error": outcome.message})})


def learned_settings(channel: Channel, facts: dict) -> dict:
    """The channel's settings with what the check learned that is one of them
    (Mastodon's instance tells its length limit), where the spec accepts it."""
    model = spec(channel.platform).settings
    learned = {key: value for key, value in facts.items() if key in model.model_fields and key != "api_base"}
    if not learned:
        return channel.settings
    try:
        return model.model_validate({**channel.settings, **learned}).model_dump(exclude_none=True)
    except ValidationError:
        return channel.settings


def check_message(outcome: CheckOutcome) -> str:
    if not outcome.ok:
        advice = " Replace the credentials, then test again." if outcome.credentials_problem else ""
        if outcome.address_refused:
            advice = " Nothing was sent. Point the channel at the platform's public address."
        return f"The connection test failed: {outcome.message.rstrip('.')}.{advice}"
    account, limit = outcome.facts.get("account"), outcome.facts.get("max_characters")
    return "The connection works." + (f" Signed in as {account}." if account else "") + (
        f" Posts may be up to {limit} characters." if limit else "")


@router.post("/channels/{channel_id:id}/test", dependencies=[Csrf])
def test_connection(channel_id: int, request: Request) -> Response:
    """Ask the platform whether the credentials work, holding no transaction while it answers."""
    state = request.app.state
    with request_transaction(request, write=False) as session:
        actor_id = admin_only(staff_user(request, session)).id
        channels.get_channel(session, channel_id)
    problem = renewal.renew_if_due(state.write_sessions, state.box, channel_id, now=utcnow(), timeout=CHECK_TIMEOUT,
                                  allow_private_network=state.settings.allow_private_network)
    if problem is not None:
        flash(request, f"The connection test failed: {problem.rstrip('.')}.", "error")
        return redirect(f"/staff/channels/{channel_id}")
    with request_transaction(request, write=False) as session:
        channel = channels.get_channel(session, channel_id)
        platform, sealed, channel_settings = channel.platform, channel.credentials_encrypted, dict(channel.settings)
    outcome = run_check(state.box, platform, sealed, channel_settings,
                        allow_private_network=state.settings.allow_private_network)
    with request_transaction(request, write=True) as session:
        record_check(session, channels.get_channel(session, channel_id), outcome, actor=session.get(User, actor_id))
    flash(request, check_message(outcome), "success" if outcome.ok else "error")
    return redirect(f"/staff/channels/{channel_id}")
