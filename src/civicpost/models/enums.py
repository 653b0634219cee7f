from enum import StrEnum


class Role(StrEnum):
    staff = "staff"
    approver = "approver"
    admin = "admin"


class State(StrEnum):
    draft = "draft"
    submitted = "submitted"
    rejected = "rejected"
    scheduled = "scheduled"
    publishing = "publishing"
    published = "published"
    failed = "failed"
    cancelled = "cancelled"
    retracted = "retracted"


class DeliveryStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    retrying = "retrying"
    published = "published"
    failed = "failed"
    unknown = "unknown"
    cancelled = "cancelled"
    retracted = "retracted"
    # Stopped by a suspension before it started: waits for a person to release it.
    held = "held"


# Deliveries a worker may still pick up; cancelling or voiding stops these.
OPEN_DELIVERY = (DeliveryStatus.pending, DeliveryStatus.retrying)
