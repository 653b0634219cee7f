"""ORM models; importing this package registers every table on Base.metadata."""

from civicpost.models.announcement import (
    Announcement,
    AnnouncementMedia,
    Media,
    Target,
    Translation,
)
from civicpost.models.audit import AuditEvent
from civicpost.models.calendar_feed import CalendarFeed
from civicpost.models.channel import Channel
from civicpost.models.comment import Comment
from civicpost.models.delivery import EMERGENCY_LANE, ORDINARY_LANE, Delivery
from civicpost.models.department import Department, user_departments
from civicpost.models.enums import OPEN_DELIVERY, DeliveryStatus, Role, State
from civicpost.models.export import Export
from civicpost.models.identity import PASSKEY, TOTP, RecoveryCode, SamlRequest, SecondFactor
from civicpost.models.instance import InstanceValue
from civicpost.models.metrics import (
    InsightCount,
    InsightSlotCount,
    InsightWeekCount,
    MetricChannel,
    MetricJob,
    MetricSnapshot,
    PostEngagement,
)
from civicpost.models.notification import DepartmentHook, Notification, NotificationChoice
from civicpost.models.oidc_state import OidcState
from civicpost.models.reply import Reply, ReplyJob
from civicpost.models.session import StaffSession
from civicpost.models.subscriber import Subscriber, SubscriberConsent, Subscription, Topic
from civicpost.models.subscriber_send import SendState, SubscriberSend
from civicpost.models.suspension import Suspension
from civicpost.models.throttle import SignInThrottle
from civicpost.models.tracked_link import TrackedLink
from civicpost.models.user import NO_PASSWORD, ApiToken, Reader, User
from civicpost.models.version import AnnouncementVersion
from civicpost.models.worker import WorkerHeartbeat

__all__ = [
    "EMERGENCY_LANE",
    "NO_PASSWORD",
    "OPEN_DELIVERY",
    "ORDINARY_LANE",
    "PASSKEY",
    "TOTP",
    "Announcement",
    "AnnouncementMedia",
    "AnnouncementVersion",
    "ApiToken",
    "AuditEvent",
    "CalendarFeed",
    "Channel",
    "Comment",
    "Delivery",
    "DeliveryStatus",
    "Department",
    "DepartmentHook",
    "Export",
    "InstanceValue",
    "Media",
    "MetricChannel",
    "MetricJob",
    "MetricSnapshot",
    "Notification",
    "NotificationChoice",
    "OidcState",
    "PostEngagement",
    "InsightCount",
    "InsightSlotCount",
    "InsightWeekCount",
    "RecoveryCode",
    "Reply",
    "ReplyJob",
    "Role",
    "SamlRequest",
    "SecondFactor",
    "SignInThrottle",
    "StaffSession",
    "State",
    "SendState",
    "Subscriber",
    "SubscriberConsent",
    "SubscriberSend",
    "Subscription",
    "Suspension",
    "Target",
    "Topic",
    "TrackedLink",
    "Translation",
    "Reader",
    "User",
    "user_departments",
    "WorkerHeartbeat",
]

# Registers the listeners that version the public site with every change the ORM writes (civicpost.public_site).
from civicpost import public_site  # noqa: E402,F401
