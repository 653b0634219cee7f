"""The list's six query parameters parsed as FastAPI does today, one field at
a time, beside the same six read as one pydantic model (a change tried and
dropped; docs/benchmarks.md), in the same run.

    python bench/api_params.py [--count 20000]

Times FastAPI's own `request_params_to_args` over the query strings bench/api.py
sends to GET /api/v1/announcements; process CPU per request.
"""

import argparse
import time
from typing import Annotated

from fastapi import Query
from fastapi.dependencies.utils import get_dependant, request_params_to_args
from pydantic import BaseModel, Field
from starlette.datastructures import QueryParams

from civicpost.drafting.search import MAX_QUERY
from civicpost.models import State
from civicpost.web.params import SlugQuery

SLUG = r"^[a-z0-9][a-z0-9-]{0,62}$"


class Filters(BaseModel):
    state: State | None = None
    department: Annotated[str | None, Field(pattern=SLUG)] = None
    emergency: bool | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    cursor: Annotated[str | None, Field(max_length=200)] = None
    q: Annotated[str | None, Field(max_length=MAX_QUERY)] = None


def six_fields(
    state: State | None = None, department: SlugQuery = None, emergency: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=MAX_QUERY)] = None,
) -> None: ...


def one_model(filters: Annotated[Filters, Query()]) -> None: ...


QUERIES = [QueryParams(text) for text in [
    "limit=50", "limit=50&state=published", "limit=50&department=police", "limit=50&department=parks&state=submitted",
    "limit=50&emergency=true", "limit=50&cursor=YTo1MDAw",
]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    kinds = {name: get_dependant(path="/", call=call).query_params
             for name, call in [("six fields (today)", six_fields), ("one model", one_model)]}
    for fields in kinds.values():
        for query in QUERIES:
            assert not request_params_to_args(fields, query)[1]
    for number in range(1, args.rounds + 1):
        figures = []
        for name, fields in kinds.items():
            start = time.process_time()
            for i in range(args.count):
                request_params_to_args(fields, QUERIES[i % len(QUERIES)])
            figures.append(f"{name} {(time.process_time() - start) / args.count * 1e6:.1f} µs")
        print(f"round {number}: " + "; ".join(figures))


if __name__ == "__main__":
    main()
