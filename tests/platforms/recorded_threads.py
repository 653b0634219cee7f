"""Threads' answers as the Threads API gives them (trimmed), and a small
recorded fake of Threads for the contract test (same shape as fakes.py's)."""

import respx

from civicpost.platforms import Adapter, build_adapter

from .recorded_instagram import meta_error

TIMEOUT = 7.5
API = "https://graph.threads.test/v1.0"
USER = "25133940182914285"
CONTAINER = "17889615691921648"
POST = "18050206876707110"
PERMALINK = "https://www.threads.com/@cityparks/post/DAbCdEfGhIj"
CREDENTIALS = {"access_token": "THAA-long-lived-token"}
SETTINGS = {"threads_user_id": USER, "api_base": "https://graph.threads.test"}


def usage(minutes: int) -> dict[str, str]:
    return {"x-business-use-case-usage": (
        f'{{"{USER}":[{{"type":"threads","call_count":100,"total_cputime":10,"total_time":12,'
        f'"estimated_time_to_regain_access":{minutes}}}]}}')}


class ThreadsFake:
    """Threads for the contract test: a text post, container then threads_publish."""

    platform = "threads"

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router

    def adapter(self) -> Adapter:
        return build_adapter("threads", CREDENTIALS, SETTINGS, timeout=TIMEOUT, allow_private_network=True)

    def accept(self) -> None:
        self.router.post(f"{API}/{USER}/threads").respond(json={"id": CONTAINER})
        self.router.get(f"{API}/{CONTAINER}").respond(json={"status": "FINISHED", "id": CONTAINER})
        self.router.post(f"{API}/{USER}/threads_publish").respond(json={"id": POST})
        self.router.get(f"{API}/{POST}").respond(json={"permalink": PERMALINK, "id": POST})
        self.router.delete(f"{API}/{POST}").respond(json={"success": True, "deleted_id": POST})
        self.router.get(f"{API}/me").respond(json={"id": USER, "username": "cityparks"})
        self.router.get(f"{API}/{USER}/threads_publishing_limit").respond(
            json={"data": [{"quota_usage": 4, "config": {"quota_total": 250, "quota_duration": 86400}}]})

    def refuse(self, kind: str) -> bool:
        status, body, headers = {
            "rate_limited": (400, meta_error(4, "(#4) Application request limit reached", transient=True), usage(9)),
            "server_error": (500, meta_error(2, "An unexpected error has occurred. Please retry your request later.",
                                             transient=True), {}),
            "bad_credentials": (400, meta_error(190, "Error validating access token: Session has expired.",
                                                subcode=463), {}),
            "rejected": (400, meta_error(100, "(#100) Param text must be at most 500 characters long."), {}),
        }[kind]
        self.router.post(f"{API}/{USER}/threads").respond(status, json=body, headers=headers)
        return True

    def timeouts(self) -> list[float]:
        return [call.request.extensions["timeout"]["read"] for call in self.router.calls]
