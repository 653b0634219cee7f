"""`/r/{code}`: a tracked link, counted and followed (civicpost/redirects.py)."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from civicpost import redirects
from civicpost.errors import NotFound
from civicpost.web.deps import SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/r/{code}")
def follow(code: str, request: Request, session: SessionDep) -> RedirectResponse:
    url = redirects.follow(session, code, user_agent=request.headers.get("user-agent", ""))
    if url is None:
        raise NotFound("this link is not one of the city's announcement links; check the address")
    # Every click comes back here (nothing cached) and the next site learns nothing of this address.
    return RedirectResponse(url, status_code=302,
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
