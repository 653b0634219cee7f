"""Ids and slugs in addresses, parsed at the edge.

An id beyond 2^31-1 overflows PostgreSQL's integers (a 500), and
0 or a negative number names nothing. The API refuses them by name (422, and
the bounds are in the OpenAPI document); pages route only `{name:id}` paths
of ASCII digits short enough to be an id, so anything else there is the
ordinary "no page at this address" 404.
"""

from typing import Annotated

from fastapi import Path, Query
from starlette.convertors import Convertor, register_url_convertor

from civicpost.schemas import MAX_ID

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="an id, a whole number from 1 to 2147483647")]

SlugQuery = Annotated[
    str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="a department's slug, such as parks")
]
SlugPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="a department's slug, such as parks")]


class IdConvertor(Convertor[int]):
    # 9 digits at most: every such number is below 2^31 (schemas.MAX_ID), and no real id gets near it.
    regex = "[1-9][0-9]{0,8}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
