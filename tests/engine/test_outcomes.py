"""The rules that turn what happened to a delivery into what is written: no database needed."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from civicpost.config import Settings
from civicpost.engine.outcomes import (
    Facts,
    Health,
    Post,
    Published,
    Stopped,
    TakenBack,
    Unclear,
    backoff,
    decide,
)
from civicpost.models import DeliveryStatus
from civicpost.platforms import (
    AddressRefused,
    CredentialsError,
    MaybePosted,
    PermanentError,
    RateLimited,
    Receipt,
    TransientError,
)

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SETTINGS = Settings(env="test", database_url="sqlite://", retry_base_seconds=10, retry_max_seconds=100, max_attempts=3)
SENDING = Facts(status=DeliveryStatus.sending, attempts=1, reconcile=False)
TAKING_BACK = Facts(status=DeliveryStatus.published, attempts=1, reconcile=False, remote_id="p1", part_ids=("p1",),
                    retract_requested_at=NOW - timedelta(minutes=1), take_back=True)


def thread_error(error: Exception, *part_ids: str) -> Exception:
    error.partial = Receipt(part_ids[0], part_ids=list(part_ids))
    return error


# -- sending -------------------------------------------------------------------


def test_a_receipt_publishes_the_delivery_keeps_where_the_post_is_and_settles_the_announcement():
    decision = decide(Published(Receipt("p1", "https://x.example/p1", ["p1", "p2"])), SENDING, settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.published and decision.note is None
    assert decision.post == Post("p1", ("p1", "p2"), "https://x.example/p1")
    assert decision.published_at == NOW and decision.reconcile is False and decision.settle
    assert decision.event == "delivery.published"
    assert decision.detail == {"remote_url": "https://x.example/p1", "found_on_platform": False}
    assert decision.channel == Health(working=True) and not decision.take_back_soon


def test_a_receipts_address_that_is_not_http_is_dropped_and_the_post_still_counts():
    decision = decide(Published(Receipt("p1", "javascript:alert(1)"), found=True), SENDING, settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.published and decision.post == Post("p1", (), None)
    assert decision.detail == {"remote_url": None, "found_on_platform": True}


def test_a_channel_that_succeeded_a_moment_ago_is_not_written_again_unless_it_needed_attention():
    recent = replace(SENDING, channel_last_success_at=NOW - timedelta(seconds=2))
    assert decide(Published(Receipt("p1")), recent, settings=SETTINGS, now=NOW).channel is None
    troubled = replace(recent, channel_needs_attention=True)
    assert decide(Published(Receipt("p1")), troubled, settings=SETTINGS, now=NOW).channel == Health(working=True)


def test_a_post_that_lands_after_a_retract_is_taken_back_at_once():
    decision = decide(Published(Receipt("p1")), replace(SENDING, retracting=True), settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.published and decision.take_back_soon


def test_a_stopped_send_is_cancelled_without_a_retract_to_follow():
    decision = decide(Stopped(), SENDING, settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.cancelled and decision.note.startswith("stopped before sending")
    assert decision.retract_done and decision.event is None and not decision.settle


def test_an_unclear_send_is_unknown_for_a_person_with_the_reason():
    decision = decide(Unclear("check the inbox"), SENDING, settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.unknown and decision.note == "check the inbox"
    assert decision.event == "delivery.unknown" and decision.detail == {"error": "check the inbox"} and decision.settle


def test_a_rate_limit_pauses_the_channel_until_the_platforms_reset_and_costs_no_attempt():
    decision = decide(RateLimited("slow down", retry_after=30), replace(SENDING, attempts=2), settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.retrying and decision.note == "rate limited: slow down"
    assert decision.retry_at == NOW + timedelta(seconds=30) and decision.attempts == 1
    assert decision.channel == Health(paused_until=NOW + timedelta(seconds=30))
    assert decision.event is None and not decision.settle


def test_a_rate_limit_without_a_reset_waits_a_backoff():
    decision = decide(RateLimited("slow down"), SENDING, settings=SETTINGS, now=NOW)
    assert NOW + timedelta(seconds=5) <= decision.retry_at <= NOW + timedelta(seconds=10)
    assert decision.attempts == 0


@pytest.mark.parametrize("error", [PermanentError("too long"), CredentialsError("bad token"), AddressRefused("loopback")])
def test_a_permanent_refusal_fails_the_delivery_and_a_credentials_one_marks_the_channel(error):
    decision = decide(error, SENDING, settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.failed and decision.note == str(error)
    assert decision.reconcile is False and decision.settle
    assert decision.event == "delivery.failed" and decision.detail == {"error": str(error)}
    assert decision.channel == Health(error=str(error), needs_attention=isinstance(error, CredentialsError))


def test_a_transient_error_is_retried_after_a_backoff_of_at_least_what_the_platform_asked():
    decision = decide(TransientError("busy", retry_after=7), SENDING, settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.retrying and decision.note == "busy"
    assert NOW + timedelta(seconds=7) <= decision.retry_at <= NOW + timedelta(seconds=10)
    assert decision.reconcile is False and decision.channel == Health(error="busy")
    assert decision.event is None and not decision.settle


@pytest.mark.parametrize("error", [MaybePosted("timed out after sending"), RuntimeError("connection reset"), OSError()])
def test_an_error_that_may_have_posted_is_reconciled_before_the_retry(error):
    decision = decide(error, SENDING, settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.retrying and decision.reconcile is True
    assert decision.note == (str(error) or "an error without a message (OSError)")


def test_a_delivery_to_reconcile_stays_so_through_a_clean_transient_error():
    decision = decide(TransientError("busy"), replace(SENDING, reconcile=True), settings=SETTINGS, now=NOW)
    assert decision.reconcile is True


@pytest.mark.parametrize(("error", "status"), [(TransientError("busy"), DeliveryStatus.failed),
                                               (MaybePosted("timed out"), DeliveryStatus.unknown),
                                               (RuntimeError("boom"), DeliveryStatus.unknown)])
def test_the_last_attempt_gives_up_failed_or_unknown_when_it_may_have_posted(error, status):
    decision = decide(error, replace(SENDING, attempts=3), settings=SETTINGS, now=NOW)
    assert decision.status == status and decision.note == f"gave up after 3 attempts: {error}"
    assert decision.event == f"delivery.{status.value}" and decision.settle and decision.retry_at is None


def test_a_thread_that_failed_part_way_keeps_the_parts_that_went_out():
    decision = decide(thread_error(TransientError("busy"), "p1", "p2"), replace(SENDING, part_ids=("p1",)),
                      settings=SETTINGS, now=NOW)
    assert decision.post == Post("p1", ("p1", "p2"))
    nothing_new = decide(thread_error(TransientError("busy"), "p1"), replace(SENDING, part_ids=("p1",)),
                         settings=SETTINGS, now=NOW)
    assert nothing_new.post is None


# -- a retract came while the send was on its way ---------------------------------


def test_a_send_that_failed_cleanly_after_a_retract_is_cancelled():
    decision = decide(TransientError("busy"), replace(SENDING, retracting=True), settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.cancelled and decision.retract_done
    assert decision.note == "announcement retracted before this channel published (busy)"
    assert decision.event == "delivery.cancelled" and decision.detail == {"error": "busy"}


@pytest.mark.parametrize("facts", [replace(SENDING, retracting=True, remote_id="p1"),
                                   replace(SENDING, retracting=True, reconcile=True)])
def test_a_send_that_may_have_posted_after_a_retract_is_looked_for_and_deleted(facts):
    error = MaybePosted("timed out") if facts.reconcile else PermanentError("refused")
    decision = decide(error, facts, settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.unknown and decision.retry_at == NOW and decision.take_back_soon
    assert decision.note.startswith("retracted while this send was on its way")
    assert decision.reconcile is facts.reconcile and not decision.retract_done


def test_a_thread_that_failed_part_way_after_a_retract_is_taken_back():
    decision = decide(thread_error(PermanentError("refused"), "p1"), replace(SENDING, retracting=True),
                      settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.unknown and decision.post == Post("p1", ("p1",))
    assert decision.reconcile is False and decision.take_back_soon


# -- taking a post back ------------------------------------------------------------


def test_a_deleted_post_retracts_the_delivery_and_keeps_the_record():
    decision = decide(TakenBack("deleted", remote_ids=("p1",)), TAKING_BACK, settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.retracted and decision.retracted_at == NOW and decision.retract_done
    assert decision.note is None and decision.post is None and decision.event == "delivery.retracted"


def test_a_post_found_and_deleted_after_an_unclear_send_keeps_where_it_was():
    facts = replace(TAKING_BACK, status=DeliveryStatus.unknown, remote_id=None, part_ids=())
    decision = decide(TakenBack("deleted", remote_ids=("p1", "p2")), facts, settings=SETTINGS, now=NOW)
    assert decision.post == Post("p1", ("p1", "p2"))


@pytest.mark.parametrize(("outcome", "status", "event"), [("not_posted", DeliveryStatus.cancelled, "delivery.not_posted"),
                                                          ("for_a_person", DeliveryStatus.unknown, "delivery.unknown")])
def test_a_post_that_was_never_there_or_cannot_be_looked_up_ends_the_retract(outcome, status, event):
    decision = decide(TakenBack(outcome, "the words"), TAKING_BACK, settings=SETTINGS, now=NOW)
    assert decision.status == status and decision.note == "the words" and decision.retract_done
    assert decision.event == event and decision.reconcile is False


@pytest.mark.parametrize("error", [TransientError("busy", retry_after=3), RuntimeError("connection reset")])
def test_a_take_back_the_platform_could_not_do_yet_is_tried_again(error):
    decision = decide(error, TAKING_BACK, settings=SETTINGS, now=NOW)
    assert decision.status is None and decision.note == f"could not delete yet: {error}"
    assert decision.retract_requested_at == TAKING_BACK.retract_requested_at and not decision.retract_done
    assert NOW + timedelta(seconds=5) <= decision.retry_at <= NOW + timedelta(seconds=10)
    assert decision.event is None


def test_a_send_taken_back_from_its_claim_leaves_the_queue_as_unknown():
    facts = replace(TAKING_BACK, status=DeliveryStatus.sending, retract_requested_at=None)
    decision = decide(TransientError("busy"), facts, settings=SETTINGS, now=NOW)
    assert decision.status == DeliveryStatus.unknown and decision.retract_requested_at == NOW


def test_a_take_back_refused_for_credentials_waits_for_the_channel_to_be_fixed():
    decision = decide(CredentialsError("revoked"), TAKING_BACK, settings=SETTINGS, now=NOW)
    assert decision.status is None and "fix the channel's credentials" in decision.note
    assert decision.retry_at == NOW + timedelta(seconds=100) and not decision.retract_done
    assert decision.channel == Health(error="revoked", needs_attention=True)
    assert decision.event == "delivery.retract_failed"


def test_a_take_back_refused_for_good_is_left_to_a_person():
    decision = decide(PermanentError("cannot delete"), TAKING_BACK, settings=SETTINGS, now=NOW)
    assert decision.status is None and decision.note == "could not delete the post: cannot delete"
    assert decision.retract_done and decision.retry_at is None and decision.event == "delivery.retract_failed"


# -- waiting -------------------------------------------------------------------------


def test_backoff_doubles_with_jitter_up_to_the_longest_wait():
    for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (5, 100), (9, 100)]:
        delays = [backoff(attempts, SETTINGS) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert backoff(1, SETTINGS, at_least=60) == 60
