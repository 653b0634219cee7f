"""The shapes of the API's answers, so the OpenAPI document describes every one.

Times are RFC 3339 strings in the city's zone (web/views.py makes them), so
they are typed as strings with that format, not re-parsed datetimes.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from civicpost import cap

Instant = str  # RFC 3339 with the city's offset, e.g. 2026-12-05T09:00:00-06:00


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemDetail(Shape):
    """RFC 9457 problem JSON; `errors` names each field that needs fixing."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


class DepartmentOut(Shape):
    id: int
    slug: str
    name: str
    retention_years: int | None = Field(default=None, description="years its finished announcements are kept "
                                                                  "before they may be disposed of; null: until set")


class DepartmentList(Shape):
    items: list[DepartmentOut]


class Health(Shape):
    status: Literal["ok", "needs_attention", "unknown"]
    last_success_at: Instant | None
    last_error: str | None
    last_error_at: Instant | None
    paused_until: Instant | None
    # Whole days since the channel's last post (None: it never posted), and whether that is past its stale_after_days.
    days_since_post: int | None
    stale: bool
    token_expires_at: Instant | None


class ChannelOut(Shape):
    id: int
    department: str
    platform: str
    name: str
    language: str
    settings: dict[str, Any]
    has_credentials: bool
    active: bool
    track_links: bool
    stale_after_days: int
    health: Health


class ChannelList(Shape):
    items: list[ChannelOut]


class ProblemOut(Shape):
    code: str
    severity: Literal["error", "warning"]
    message: str
    suggestion: str | None = None


class MediaOnPost(Shape):
    id: str
    alt_text: str


class RenditionOut(Shape):
    channel_id: int
    platform: str
    language: str
    text: str
    parts: list[str] | None
    media: list[MediaOnPost]
    extra: dict[str, Any]
    length: int
    limit: int | None
    fits: bool
    problems: list[ProblemOut]


class RenditionList(Shape):
    renditions: list[RenditionOut]


class DeliveryOut(Shape):
    id: int
    channel_id: int
    platform: str
    status: Literal["pending", "sending", "retrying", "published", "failed", "unknown", "cancelled", "retracted",
                    "held"]
    attempts: int
    due_at: Instant
    next_attempt_at: Instant | None
    published_at: Instant | None
    retracted_at: Instant | None = None
    remote_id: str | None
    remote_url: str | None = Field(description="an http(s) link to the post, or null")
    last_error: str | None


class ResidentCounts(Shape):
    sent: int
    failed: int
    pending: int = Field(description="waiting or being sent")
    skipped: int = Field(description="no longer a recipient when their turn came (unsubscribed, bounced)")
    maybe_twice: int = Field(description="claimed again after a worker stopped mid-send: may have received it twice")


class AnnouncementSummary(Shape):
    id: int
    department: str
    title: str
    state: str
    emergency: bool
    language: str
    author: str
    publish_at: Instant | None
    created_at: Instant
    updated_at: Instant


class AnnouncementPage(Shape):
    items: list[AnnouncementSummary]
    next_cursor: str | None


class TranslationOut(Shape):
    title: str
    body: str


class AlertOut(Shape):
    event: str
    category: cap.Category
    urgency: cap.Urgency
    severity: cap.Severity
    certainty: cap.Certainty
    expires: Instant
    instruction: str | None = None
    area_desc: str
    polygon: str | None = None
    exercise: bool = False


class AnnouncementOut(AnnouncementSummary):
    body: str
    link: str | None
    translations: dict[str, TranslationOut]
    channels: list[int]
    overrides: dict[str, str]
    media: list[MediaOnPost]
    alert: AlertOut | None = Field(default=None, description="CAP alert details of an emergency; its document is "
                                                             "GET /api/v1/announcements/{id}/cap.xml")
    rejection_reason: str | None
    legal_hold: bool = Field(default=False, description="on legal hold: never disposed of while it lasts")
    legal_hold_reason: str | None = None
    retracted_at: Instant | None = None
    retraction_reason: str | None = Field(default=None, description="why it was retracted, as the city said")
    fingerprint: str = Field(description="SHA-256 of the exact renditions, publish time and alert details; "
                                         "approval must send it")
    approved_fingerprint: str | None
    approved_by: str | None
    approved_at: Instant | None
    review_due_at: Instant | None = Field(
        description="after a break-glass publish: when an approver's sign-off is due (null otherwise)")
    reviewed_by: str | None = Field(description="the approver who signed a break-glass publish off")
    reviewed_at: Instant | None
    follows_id: int | None = Field(default=None, description="a follow-up: the alert it follows")
    follow_kind: Literal["update", "all_clear", "correction"] | None = Field(
        default=None, description="a follow-up: what it is (an update, the all-clear, or a retract's correction)")
    event_start: Instant | None = Field(default=None, description="the event it announces: its start")
    event_end: Instant | None = Field(default=None, description="and its end")
    location: str | None = Field(default=None, description="and where it is")
    renditions: list[RenditionOut]
    deliveries: list[DeliveryOut]
    residents: ResidentCounts | None = Field(
        default=None, description="messages to residents of its `subscribers` channels; null without one")


class AuditEventOut(Shape):
    at: Instant
    actor: str
    action: str
    fingerprint: str | None = None
    detail: dict[str, Any] | None = None


class AuditTrail(Shape):
    items: list[AuditEventOut]


PROBLEM = {"model": ProblemDetail}
# Every API route may answer these (400 for a body that cannot be read, 401 and 403 by the token, 404 and 409 by
# the object, 413 by size, 422 by validation), always as problem JSON.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**PROBLEM, "description": "the body could not be read (not JSON, or not the form data an upload needs)"},
    401: {**PROBLEM, "description": "no token, or one that is unknown, revoked or expired"},
    403: {**PROBLEM, "description": "this person may not do this"},
    404: {**PROBLEM, "description": "no such object, or one outside your departments (answered alike)"},
    409: {**PROBLEM, "description": "the object is in the wrong state, or someone changed it first"},
    413: {**PROBLEM, "description": "the request is too large"},
    422: {**PROBLEM, "description": "invalid: `errors` names each field and what to fix"},
}


class MediaOut(Shape):
    id: str
    mime_type: str
    width: int
    height: int
    size_bytes: int


class ChannelClicks(Shape):
    channel_id: int
    clicks: int


class ClickList(Shape):
    items: list[ChannelClicks]
