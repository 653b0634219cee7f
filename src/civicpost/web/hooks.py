"""`/hooks/sms`: what residents text to the city's number, as the SMS provider forwards it.

The provider signs every request (`X-Twilio-Signature`, civicpost.sms.signature) with the city's
auth token over the address it called, which is `CIVICPOST_BASE_URL` + `/hooks/sms`: a request
without a valid signature changes nothing. STOP (and its synonyms) ends texts to the number,
START (or YES) confirms it or lifts a STOP, HELP answers how to do either; the answer is TwiML.
"""

import re
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select, update

from civicpost.config import Settings
from civicpost.db import transaction
from civicpost.errors import Forbidden, Invalid, NotFound
from civicpost.fanout.message import environment
from civicpost.models import Subscriber, SubscriberSend
from civicpost.sms import keywords, signature
from civicpost.subscribers import links, recipients
from civicpost.subscribers.addresses import normalise_phone
from civicpost.subscribers.crypto import SubscriberBox
from civicpost.web.deps import SettingsDep

router = APIRouter(include_in_schema=False)

MAX_BODY = 1600  # the longest text a provider forwards (10 segments)
REPLY = "subscribers_sms_reply.txt.j2"
_SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}")


async def _signed(request: Request, settings: Settings, path: str) -> dict[str, str]:
    """The form the provider sent, once its signature is checked; refuses anything else."""
    token = settings.sms_auth_token.get_secret_value() if settings.sms_auth_token else ""
    if not token:
        raise NotFound("this city has no SMS number: set CIVICPOST_SMS_ACCOUNT_SID and CIVICPOST_SMS_AUTH_TOKEN")
    form = await request.form()
    fields = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    url = settings.base_url.rstrip("/") + path + (f"?{request.url.query}" if request.url.query else "")
    if not signature.valid(token, url, fields, request.headers.get("x-twilio-signature", "")):
        raise Forbidden("the X-Twilio-Signature header does not match this request: the provider signs with the "
                        "city's auth token over " + url)
    return dict(fields)


@router.post("/hooks/sms/status", status_code=204)
async def status(request: Request, settings: SettingsDep) -> Response:
    """The provider's delivery-status callback: a text the carrier did not deliver is failed, with why."""
    given = await _signed(request, settings, "/hooks/sms/status")
    sid, said = given.get("MessageSid", ""), given.get("MessageStatus", "")
    if not _SID.fullmatch(sid):
        raise Invalid("MessageSid must be the provider's message id (2 letters and 32 hexadecimal digits)")
    if said in ("failed", "undelivered"):
        code = given.get("ErrorCode", "")
        why = f"the carrier did not deliver it ({said}{', error ' + code if code.isdigit() else ''})"
        await run_in_threadpool(_undelivered, request, sid, why)
    return Response(status_code=204)


def _undelivered(request: Request, sid: str, why: str) -> None:
    state: Any = request.app.state
    with transaction(state.write_sessions) as session:
        session.execute(update(SubscriberSend).where(
            SubscriberSend.remote_id == sid, SubscriberSend.medium == "sms", SubscriberSend.state == "sent")
            .values(state="failed", last_error=why))


@router.post("/hooks/sms")
async def inbound(request: Request, settings: SettingsDep) -> Response:
    given = await _signed(request, settings, "/hooks/sms")
    body, sender = given.get("Body", ""), given.get("From", "")
    if len(body) > MAX_BODY:
        raise Invalid(f"Body is longer than {MAX_BODY} characters")
    try:
        phone = normalise_phone(sender)
    except ValueError:
        raise Invalid("From must be the sender's phone number in international form, e.g. +15551234567") from None
    said = keywords.keyword(body)
    manage_url = await run_in_threadpool(_act, request, settings, said, phone)
    text = environment(settings.templates_dir).get_template(REPLY).render(
        keyword=said, city=settings.city_name, manage_url=manage_url).strip()
    twiml = f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'
    return Response(twiml, media_type="text/xml")


def _act(request: Request, settings: Settings, said: str, phone: str) -> str:
    """Do what the keyword asks (one transaction); answers the link where the resident changes topics."""
    box = SubscriberBox(settings.fernet_key())
    base = settings.base_url.rstrip("/")
    state: Any = request.app.state
    with transaction(state.write_sessions) as session:
        if said == "stop":
            recipients.stop_sms(session, box, phone=phone)
        elif said == "start":
            recipients.start_sms(session, box, phone=phone)
        subscriber = session.scalar(select(Subscriber).where(Subscriber.phone_digest == box.digest(phone)))
        return links.manage_url(base, box, subscriber) if subscriber is not None else f"{base}/subscribe"
