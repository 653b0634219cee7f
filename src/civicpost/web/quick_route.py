"""API routes that answer a plain GET without FastAPI's per-request parameter machinery.

For every request FastAPI works out again, field by field, how to read each
query parameter (is its type a sequence? a model? which aliases?): on a list
page that is about a tenth of the CPU (docs/benchmarks.md). A `QuickRoute`
works that out once, when the route is built, for the routes where the answer
is simple: GET, only optional single-valued query parameters (and the
Request), no dependencies, a response model and FastAPI's own JSON response.
Each value is then validated by the very field FastAPI would use, errors carry
the same locations, and the answer goes through FastAPI's own
`serialize_response`: the same 200s and 422s, byte for byte
(tests/web/test_quick_route.py compares them with FastAPI's). Every other route
is FastAPI's, unchanged. Under OpenTelemetry, FastAPI's request span is still
made (around the whole app); its spans for the parameters, the endpoint and
the serialization are not, on these routes.
"""

import inspect
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import routing as fastapi_routing
from fastapi._compat import field_annotation_is_sequence
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, serialize_response
from pydantic import Json
from starlette.requests import Request
from starlette.responses import Response

# Defaults that are safe to hand out without copying (FastAPI deep-copies each).
_IMMUTABLE = (type(None), bool, int, float, str, bytes)


@dataclass(frozen=True)
class _Parameter:
    name: str  # the handler's
    alias: str  # the query string's
    field: Any  # FastAPI's ModelField: it validates, as in FastAPI
    default: Any


class QuickRoute(APIRoute):
    """An APIRoute (same OpenAPI, same matching) whose simple GETs take the short way."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        full = super().get_route_handler()
        route = _as_included(self)
        parameters = _simple_query(route)
        if parameters is None:
            return full
        endpoint = route.dependant.call
        request_name = route.dependant.request_param_name
        response_field = route.response_field
        status_code = route.status_code or 200
        assert endpoint is not None and request_name is not None and response_field is not None  # _simple_query

        async def app(request: Request) -> Response:
            query = request.query_params
            values: dict[str, Any] = {request_name: request}
            errors: list[Any] = []
            for p in parameters:
                given = query.get(p.alias)
                if given is None:
                    values[p.name] = p.default
                    continue
                value, problems = p.field.validate(given, values, loc=("query", p.alias))
                if problems:
                    errors.extend(problems)
                else:
                    values[p.name] = value
            if errors:
                raise RequestValidationError(errors)
            answer = await endpoint(**values)
            if isinstance(answer, Response):
                return answer
            content = await serialize_response(field=response_field, response_content=answer, dump_json=True)
            return Response(content=content, media_type="application/json", status_code=status_code)

        return app


def _as_included(route: APIRoute) -> Any:
    """The route as its router's inclusion sees it (FastAPI builds the handler once per inclusion)."""
    current = getattr(fastapi_routing, "_effective_route_context_var", None)
    context = current.get() if current is not None else None
    return context if context is not None and getattr(context, "original_route", None) is route else route


def _simple_query(route: Any) -> list[_Parameter] | None:
    """The query parameters, if this route can take the short way; None otherwise."""
    dependant: Dependant = route.dependant
    plain = (
        route.methods == {"GET"}
        and dependant.call is not None
        and inspect.iscoroutinefunction(dependant.call)
        and dependant.request_param_name is not None
        and not (dependant.path_params or dependant.header_params or dependant.cookie_params
                 or dependant.body_params or dependant.dependencies)
        and not (dependant.websocket_param_name or dependant.http_connection_param_name
                 or dependant.response_param_name or dependant.background_tasks_param_name
                 or dependant.security_scopes_param_name)
        and route.response_field is not None
        and isinstance(route.response_class, DefaultPlaceholder)
        and getattr(route, "stream_item_field", None) is None
        and route.response_model_include is None and route.response_model_exclude is None
        and route.response_model_by_alias
        and not (route.response_model_exclude_unset or route.response_model_exclude_defaults
                 or route.response_model_exclude_none)
    )
    if not plain:
        return None
    parameters = []
    for field in dependant.query_params:
        info = field.field_info
        if (info.is_required() or info.validate_default or info.validation_alias is not None
                or any(type(item) is Json for item in info.metadata)
                or field_annotation_is_sequence(info.annotation) or not isinstance(field.default, _IMMUTABLE)):
            return None  # FastAPI reads these otherwise (a list, a JSON value, a default to copy): its way
        parameters.append(_Parameter(name=field.name, alias=field.alias, field=field, default=field.default))
    return parameters
