"""The Bot API over httpx: `POST {api_base}/bot<token>/<method>`, one answer shape.

Every answer is `{"ok": true, "result": ...}` or `{"ok": false, "error_code",
"description", "parameters"}`; `call` returns the result or raises one of the
seam's errors with Telegram's own description.

The token is part of every URL, so it would show wherever a URL does: an
error's words, a log line. Every error raised here has it scrubbed, the cause
of a network error is dropped (its request holds the URL), and httpx's own
"HTTP Request: POST https://..." log line has it masked.
"""

import json
import logging
import re
from typing import Any

import httpx

from civicpost.platforms._support import MALFORMED, answered, httpx_reached_server, plain, short, unexpected_answer
from civicpost.platforms.guard import AddressGuard
from civicpost.platforms.seam import (
    CredentialsError,
    MaybePosted,
    PermanentError,
    PlatformError,
    RateLimited,
    TransientError,
)

HIDDEN = "[bot token]"
_TOKEN_IN_URL = re.compile(r"/bot[0-9]+:[^/\s\"']+")

# Refusals that a person fixes on the channel (which chat, the bot's rights), not on the post.
_CHAT_NOT_FOUND = ("chat not found",)
_NO_RIGHTS = ("need administrator rights", "not enough rights", "have no rights", "member list is inaccessible",
              "chat_write_forbidden", "chat_admin_required")
_BOT_SETUP = "make the bot an administrator of the channel with the right to post messages"


class _HideTokens(logging.Filter):
    """httpx logs every request's URL at INFO; a Bot API URL holds the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_URL.sub("/bot" + HIDDEN, str(a)) if isinstance(a, httpx.URL | str) else a
                                for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_URL.sub("/bot" + HIDDEN, record.msg)
        return True


def _hide_tokens_in_httpx_logs() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _HideTokens) for f in logger.filters):
        logger.addFilter(_HideTokens())


_hide_tokens_in_httpx_logs()


class Refusal(Exception):
    """Telegram's `ok: false` answer: the cause of the error the adapter raises."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any]) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def says(self, *words: str) -> bool:
        lowered = self.description.lower()
        return any(word in lowered for word in words)


class BotApi:
    def __init__(self, token: str, api_base: str, *, timeout: float, guard: AddressGuard | None) -> None:
        self._secrets = tuple(s for s in {token, token.replace(":", "%3A"), token.partition(":")[2]} if len(s) >= 8)
        self._http = httpx.Client(
            base_url=f"{api_base.rstrip('/')}/bot{token}/",
            timeout=timeout,
            event_hooks=guard.httpx_hooks() if guard else None,
        )

    def call(self, method: str, *, writing: bool, payload: dict[str, Any] | None = None,
             files: dict[str, tuple[str, bytes, str]] | None = None) -> Any:
        """The method's result. A write that may have reached Telegram and got
        no readable answer raises MaybePosted."""
        try:
            return self._call(method, writing=writing, payload=payload or {}, files=files)
        except PlatformError as error:
            error.args = tuple(self.scrub(str(arg)) for arg in error.args)
            raise

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, HIDDEN)
        return _TOKEN_IN_URL.sub("/bot" + HIDDEN, text)

    def _call(self, method: str, *, writing: bool, payload: dict[str, Any],
              files: dict[str, tuple[str, bytes, str]] | None) -> Any:
        unanswered: PlatformError | None = None
        try:
            if files:
                response = self._http.post(method, data=_form(payload), files=files)
            else:
                response = self._http.post(method, json=payload)
        except httpx.HTTPError as exc:
            said = short(self.scrub(plain(exc)))
            sent = writing and httpx_reached_server(exc)
            unanswered = MaybePosted(f"no answer from Telegram: {said}") if sent else TransientError(
                f"cannot reach Telegram: {said}")
        if unanswered is not None:
            # Raised outside the except block, so the httpx error (whose request holds the URL,
            # and so the token) is neither its cause nor its context.
            raise unanswered
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
            raise _unreadable(response, writing=writing)
        if body["ok"] and response.is_success:
            if "result" not in body:
                raise unexpected_answer("Telegram", writing=writing)
            return body["result"]
        parameters = body.get("parameters")
        try:
            refusal = Refusal(int(body.get("error_code") or response.status_code),
                              self.scrub(str(body.get("description") or "")),
                              parameters if isinstance(parameters, dict) else {})
        except MALFORMED:
            raise unexpected_answer("Telegram", writing=writing) from None
        raise _mapped(refusal) from refusal


def _mapped(refusal: Refusal) -> PlatformError:
    said = answered("Telegram", refusal.code, None, refusal.description)
    if refusal.code in (401, 404):
        # 404 is also what a token of the wrong shape gets: no such bot.
        return CredentialsError(f"{said}; the bot token is wrong or was revoked: copy it again from @BotFather")
    if refusal.code == 403:
        return CredentialsError(f"{said}; {_BOT_SETUP}")
    if refusal.code == 429:
        return RateLimited(said, retry_after=_seconds(refusal.parameters.get("retry_after")))
    if refusal.code >= 500:
        return TransientError(said)
    if (moved := refusal.parameters.get("migrate_to_chat_id")) is not None:
        return CredentialsError(
            f"{said}; the group became a supergroup: set the channel's chat_id to {short(moved, 24)}")
    if refusal.says(*_CHAT_NOT_FOUND):
        return CredentialsError(f"{said}; check the channel's chat_id (@channelusername, or the numeric id of a "
                                "private channel) and that the bot is in that channel")
    if refusal.says(*_NO_RIGHTS):
        return CredentialsError(f"{said}; {_BOT_SETUP}")
    return PermanentError(said)


def _unreadable(response: httpx.Response, *, writing: bool) -> PlatformError:
    """An answer without the Bot API's JSON: a proxy's error page, or not Telegram at all."""
    said = answered("Telegram", response.status_code, response.reason_phrase)
    if response.status_code >= 500:
        return TransientError(said)
    if response.status_code == 429:
        return RateLimited(said)
    said += ", not with the Bot API's JSON: check the channel's api_base"
    # A write answered 2xx may have landed: reconcile (for Telegram: a person looks) before any retry.
    return MaybePosted(said) if writing and response.is_success else PermanentError(said)


def _seconds(value: Any) -> float | None:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def _form(payload: dict[str, Any]) -> dict[str, str]:
    """A multipart upload's fields: objects as JSON strings, as the Bot API reads them."""
    form: dict[str, str] = {}
    for key, value in payload.items():
        if isinstance(value, dict | list):
            form[key] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        elif isinstance(value, bool):
            form[key] = "true" if value else "false"
        elif value is not None:
            form[key] = str(value)
    return form
