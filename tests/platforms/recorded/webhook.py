"""A webhook receiver that checks the signature (servers.py, a real local
server): its replies are the recorded answers, and what it received is what
must have been asked."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from civicpost.platforms import Outgoing

from ..servers import WEBHOOK_SECRET, Receiver
from ._base import LATE_S, Post, Recorded, no_such_answer

HOOK_ID = "hook-42"


class RecordedWebhook(Recorded):
    platform = "webhook"
    fixtures = ("webhook_receiver",)

    def __init__(self, *, webhook_receiver: Receiver) -> None:
        super().__init__()
        self.receiver = webhook_receiver
        self.secret = WEBHOOK_SECRET

    def channel(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"secret": self.secret}, {"url": self.receiver.url}

    @contextmanager
    def answers(self, case: str, outgoing: Outgoing) -> Iterator[float | None]:
        if case == "timeouts":
            no_such_answer("a receiver cannot see the client's timeout: the late answer checks it")
        self.receiver.reply = (201, {}, json.dumps({"id": HOOK_ID}).encode())
        events = {"publish": ["publish"], "delete": ["publish", "retract"], "check": []}.get(case, ["publish"])
        if case == "bad_credentials":
            self.secret = "not-the-secret"
        elif case in ("rate_limited", "server_error", "rejected"):
            self.receiver.reply = {
                "rate_limited": (429, {"Retry-After": "120"}, b'{"error": "slow down"}'),
                "server_error": (503, {"Retry-After": "30"}, b'{"error": "maintenance"}'),
                "rejected": (422, {}, b'{"error": "unknown department"}'),
            }[case]
        elif case == "late":
            self.receiver.delay_s = LATE_S
        elif case not in ("publish", "delete", "check"):
            raise self.unknown(case)
        before = len(self.receiver.received)
        yield 120 if case == "rate_limited" else None
        received = self.receiver.received[before:]
        assert [r["headers"]["X-Civicpost-Event"] for r in received] == events
        assert all(r["valid"] for r in received) == (case != "bad_credentials")

    def posts(self) -> list[Post]:
        held: dict[str, Post] = {}
        for delivery in self.receiver.received:
            payload = delivery["json"]
            if not 200 <= delivery.get("status", 0) < 300:
                continue
            if delivery["headers"]["X-Civicpost-Event"] == "publish":
                # As the template writes it, so a post compares with the text rendered.
                held[HOOK_ID] = Post(HOOK_ID, json.dumps(payload, ensure_ascii=False, sort_keys=True))
            else:
                held.pop(payload["id"], None)
        return list(held.values())
