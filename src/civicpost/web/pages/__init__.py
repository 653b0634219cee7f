"""Server-rendered staff pages under /staff (SPEC §5), on the same services as the API."""

from fastapi import FastAPI, Request
from fastapi.responses import Response

from civicpost.web.pages import (
    admin,
    alert_follow_ups,
    announcement_list,
    announcements,
    approvals,
    auth,
    break_glass,
    calendar,
    calendar_feed,
    comments,
    dashboard,
    directory_care,
    exports,
    insights,
    live,
    media_library,
    notification_settings,
    replies,
    reschedule,
    saml,
    sso,
    suspensions,
    topics,
)
from civicpost.web.pages.common import CsrfFailed, SignInRequired, redirect, sign_in_url

ROUTERS = [
    auth.router, sso.router, dashboard.router, announcement_list.router, announcements.router, approvals.router,
    calendar.router,
    calendar_feed.router, live.router, reschedule.router, admin.router, comments.router, media_library.router,
    notification_settings.router, insights.router, break_glass.router, directory_care.router,
    alert_follow_ups.router, saml.router,
    exports.router, replies.router, suspensions.router, topics.router,
]


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return redirect(sign_in_url(exc.next_url))

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed) -> Response:
        from civicpost.web.problems import error_page

        return error_page(
            request,
            403,
            "This form had expired or did not come from civicpost. Go back, reload the page and try again.",
        )
