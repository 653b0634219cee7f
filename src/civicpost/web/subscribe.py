"""Residents subscribe (SPEC §8.7): /subscribe, the confirmation link, the manage page, one-click unsubscribe.

No sign-in and no CSRF token: nothing here acts on a browser's cookies. Each link carries its own
authority (a MAC under the secret key, civicpost.subscribers.links), and /subscribe itself grants
nothing a script could not ask for directly; it is throttled per address and per client instead.
Every answer to a sign-up is the same whether or not the address was known.
"""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect

from civicpost.errors import Invalid, ServiceError
from civicpost.models import Subscriber, Topic
from civicpost.subscribers import consent, links, mail, signup, texts, topics
from civicpost.subscribers.addresses import masked_email, masked_phone
from civicpost.subscribers.crypto import SubscriberBox
from civicpost.web.deps import SessionDep, SettingsDep

router = APIRouter(include_in_schema=False)

MAX_FIELD = 1000
EXPIRED = ("This link has expired or is not valid. Confirmation links last 24 hours: sign up again at "
           "/subscribe, or use the newest link we sent.")


async def posted_form(request: Request) -> FormData:
    try:
        return await request.form(max_files=0, max_fields=300)
    except ClientDisconnect:
        raise ServiceError("the browser stopped sending the form") from None
    except Exception:  # noqa: BLE001 - a malformed body is the sender's to fix, whatever the parser raised
        raise ServiceError("the form could not be read; send it from the page at /subscribe") from None


PostedForm = Annotated[FormData, Depends(posted_form)]


def _box(request: Request) -> SubscriberBox:
    return request.app.state.subscriber_box


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value[:MAX_FIELD + 1] if isinstance(value, str) else ""


def _page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200,
          headers: dict[str, str] | None = None) -> HTMLResponse:
    response = request.app.state.pages.TemplateResponse(request, f"public/{template}", context,
                                                        status_code=status_code, headers=headers)
    # What a resident chose, and their links, stay out of caches and other sites' logs.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _grouped(all_topics: list[Topic]) -> dict[str, list[Topic]]:
    return {"departments": [t for t in all_topics if t.department_id is not None],
            "others": [t for t in all_topics if t.department_id is None]}


def _form_page(request: Request, session, settings, *, form: dict[str, Any], errors: dict[str, str],
               status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return _page(request, "subscribe.html", {
        "topics": _grouped(topics.listed(session)), "form": form, "errors": errors,
        "sms_number": settings.subscribe_sms_number, "active": "subscribe"}, status_code=status_code, headers=headers)


@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_form(request: Request, session: SessionDep, settings: SettingsDep,
                   topic: str | None = None) -> HTMLResponse:
    chosen = [topic] if topic and len(topic) <= 64 else []
    return _form_page(request, session, settings, form={"email": "", "phone": "", "topics": chosen}, errors={})


@router.post("/subscribe", response_class=HTMLResponse)
def subscribe(request: Request, session: SessionDep, settings: SettingsDep, posted: PostedForm,
              background: BackgroundTasks) -> Response:
    chosen = [v[:64] for v in posted.getlist("topics") if isinstance(v, str)][:signup.MAX_TOPICS + 1]
    email_text, phone_text = _text(posted, "email"), _text(posted, "phone")
    form = {"email": email_text, "phone": phone_text, "topics": chosen}
    errors: dict[str, str] = {}
    sms = bool(settings.subscribe_sms_number)
    found: list[Topic] = []
    try:
        email, phone = signup.check_form(email=email_text, phone=phone_text, topic_slugs=chosen,
                                         consented=_text(posted, "consent") == "yes", sms=sms,
                                         phone_prefix=settings.subscribe_phone_prefix)
    except Invalid as exc:
        errors = {e["field"]: e["message"] for e in exc.errors or []}
        email = phone = None
    if chosen:
        try:
            found = signup.topics_by_slug(session, chosen)
        except Invalid as exc:
            errors["topics"] = exc.detail
    if errors:
        return _form_page(request, session, settings, form=form, errors=errors, status_code=422)
    box = _box(request)
    try:
        outcome = signup.sign_up(session, box, email=email, phone=phone, topics=found, ip=_ip(request))
    except signup.TooSoon as exc:
        wait = max(1, int(exc.wait.total_seconds()))
        return _form_page(request, session, settings, form=form, status_code=429,
                          headers={"Retry-After": str(wait)},
                          errors={"form": f"Too many sign-ups from here or for this address in a short time; "
                                          f"try again in {exc}."})
    if outcome.email and outcome.subscriber is not None:
        base = settings.base_url
        background.add_task(mail.send, settings, mail.Confirmation(
            subscriber_id=outcome.subscriber.id, to=outcome.email, topics=[t.name for t in found],
            confirm_url=links.confirm_url(base, box, outcome.subscriber, topic_ids=outcome.topic_ids),
            manage_url=links.manage_url(base, box, outcome.subscriber),
            unsubscribe_headers=links.unsubscribe_headers(base, box, outcome.subscriber)))
    kind = "email" if email else "phone"
    return RedirectResponse(f"/subscribe/sent?by={kind}", status_code=303)


@router.get("/subscribe/sent", response_class=HTMLResponse)
def subscribe_sent(request: Request, settings: SettingsDep, by: str = "email") -> HTMLResponse:
    return _page(request, "subscribe_sent.html", {"by": "phone" if by == "phone" else "email",
                                                  "sms_number": settings.subscribe_sms_number})


def _holder(session, request: Request, token: str, *, purpose: str) -> Subscriber | None:
    if len(token) > 4000:
        return None
    subscriber_id = links.claimed_id(token)
    subscriber = session.get(Subscriber, subscriber_id) if subscriber_id else None
    if subscriber is None or not links.check(_box(request), token, subscriber, purpose=purpose):
        return None
    return subscriber


def _gone(request: Request, detail: str = EXPIRED) -> HTMLResponse:
    return _page(request, "subscribe_message.html", {"heading": "This link does not work", "detail": detail},
                 status_code=404)


@router.get("/subscribe/confirm/{token}", response_class=HTMLResponse)
def confirm_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """A button, not the confirmation itself: a mail scanner that opens links must not confirm."""
    subscriber = _holder(session, request, token, purpose="confirm")
    if subscriber is None:
        return _gone(request)
    claim = links.parse(token)
    chosen = [t.name for t in _topics(session, claim)] if claim else []
    return _page(request, "subscribe_confirm.html", {"token": token, "topics": chosen})


def _topics(session, claim: links.LinkClaim) -> list[Topic]:
    ids = claim.topic_ids
    return list(session.scalars(select(Topic).where(Topic.id.in_(ids)).order_by(Topic.name))) if ids else []


@router.post("/subscribe/confirm/{token}", response_class=HTMLResponse)
def confirm(token: str, request: Request, session: SessionDep, settings: SettingsDep,
            background: BackgroundTasks) -> HTMLResponse:
    subscriber = _holder(session, request, token, purpose="confirm")
    claim = links.parse(token)
    if subscriber is None or claim is None:
        return _gone(request)
    signup.confirm(session, subscriber, topic_ids=claim.topic_ids, ip=_ip(request))
    # The number given with the address is asked to confirm by text (SMS double opt-in), after the commit.
    text = texts.due(session, _box(request), subscriber, settings=settings)
    if text is not None:
        background.add_task(texts.send, settings, text)
    asked = " We are texting your mobile number too: reply YES to that text to get our texts." if text else ""
    return _page(request, "subscribe_message.html", {
        "heading": "You are subscribed",
        "detail": "Thank you: your address is confirmed. Every message we send has a link to change your topics "
                  "or unsubscribe." + asked,
        "manage_url": links.manage_url("", _box(request), subscriber)})


@router.get("/subscriptions/{token}", response_class=HTMLResponse)
def manage_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    subscriber = _holder(session, request, token, purpose="manage")
    if subscriber is None:
        return _gone(request, "This link does not work: it may be from before you asked us to forget you. Use the "
                              "link in the newest message we sent, or sign up again at /subscribe.")
    return _manage(request, session, subscriber, token=token, errors={})


def _manage(request: Request, session, subscriber: Subscriber, *, token: str, errors: dict[str, str],
            saved: str = "", status_code: int = 200) -> HTMLResponse:
    box = _box(request)
    return _page(request, "subscriptions.html", {
        "token": token, "topics": _grouped(topics.listed(session)),
        "chosen": set(consent.topic_slugs(session, subscriber.id)),
        "email": masked_email(box.open(subscriber.email_encrypted)) if subscriber.email_encrypted else None,
        "phone": masked_phone(box.open(subscriber.phone_encrypted)) if subscriber.phone_encrypted else None,
        "email_confirmed": subscriber.email_confirmed_at is not None, "errors": errors, "saved": saved,
        "mode": subscriber.mode, "digest_hour": request.app.state.settings.digest_hour},
        status_code=status_code)


@router.post("/subscriptions/{token}", response_class=HTMLResponse)
def manage(token: str, request: Request, session: SessionDep, posted: PostedForm) -> HTMLResponse:
    subscriber = _holder(session, request, token, purpose="manage")
    if subscriber is None:
        return _gone(request, "This link does not work any more; use the link in the newest message we sent.")
    action = _text(posted, "action")
    ip = _ip(request)
    if action == "save":
        chosen = [v[:64] for v in posted.getlist("topics") if isinstance(v, str)][:signup.MAX_TOPICS + 1]
        try:
            found = signup.topics_by_slug(session, chosen)
        except Invalid as exc:
            return _manage(request, session, subscriber, token=token, errors={"topics": exc.detail},
                           status_code=422)
        signup.change_topics(session, subscriber, topics=found, ip=ip)
        saved = "Saved: you now receive the topics ticked below." if found else \
            "Saved: you are unsubscribed from every topic."
        return _manage(request, session, subscriber, token=token, errors={}, saved=saved)
    if action == "mode":
        try:
            signup.change_mode(subscriber, mode=_text(posted, "mode"))
        except Invalid:
            return _manage(request, session, subscriber, token=token, status_code=422,
                           errors={"mode": "Choose how often to hear from us: each announcement as it is "
                                           "published, or one message a day"})
        saved = ("Saved: you get one message a day with the day's announcements (emergencies still come at once)."
                 if subscriber.mode == "digest" else "Saved: you get each announcement as it is published.")
        return _manage(request, session, subscriber, token=token, errors={}, saved=saved)
    if action == "unsubscribe":
        signup.unsubscribe(session, subscriber, source="web", ip=ip)
        return _manage(request, session, subscriber, token=token, errors={},
                       saved="You are unsubscribed from every topic. We keep your address only until you ask "
                             "us to forget it (below).")
    if action == "forget":
        if _text(posted, "sure") != "yes":
            return _manage(request, session, subscriber, token=token, status_code=422,
                           errors={"sure": "Tick the box to confirm that we should delete your address for good"})
        signup.forget(session, subscriber, ip=ip)
        return _page(request, "subscribe_message.html", {
            "heading": "Your address is deleted",
            "detail": "We deleted your email address and number and every topic you chose. We keep only the "
                      "record that you agreed and then withdrew, without your address, as the law requires."})
    return _manage(request, session, subscriber, token=token, status_code=422,
                   errors={"form": "Choose one of the buttons: save topics, save how often, unsubscribe from all, "
                                   "or forget me"})


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """A button (a GET changes nothing: mail scanners open links)."""
    subscriber = _holder(session, request, token, purpose="unsubscribe")
    if subscriber is None:
        return _gone(request, "This link does not work any more: you may have asked us to forget you already.")
    return _page(request, "unsubscribe.html", {"token": token, "body": links.ONE_CLICK_BODY.split("=")})


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(token: str, request: Request, session: SessionDep, posted: PostedForm) -> HTMLResponse:
    """RFC 8058: a POST with `List-Unsubscribe=One-Click` unsubscribes at once, from the mail program or the page."""
    subscriber = _holder(session, request, token, purpose="unsubscribe")
    if subscriber is None:
        return _gone(request, "This link does not work any more: you may have asked us to forget you already.")
    if _text(posted, "List-Unsubscribe") != "One-Click":
        return _page(request, "subscribe_message.html", {
            "heading": "Nothing changed",
            "detail": "To unsubscribe, send List-Unsubscribe=One-Click (the button on this link's page does)."},
            status_code=400)
    signup.unsubscribe(session, subscriber, source="one-click", ip=_ip(request))
    return _page(request, "subscribe_message.html", {
        "heading": "You are unsubscribed",
        "detail": "You will get no more messages from us. Changed your mind? Choose topics again below.",
        "manage_url": links.manage_url("", _box(request), subscriber)})
