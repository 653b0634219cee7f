from fastapi import FastAPI

# First: page routes use the {name:id} path convertor it registers.
import civicpost.web.params  # noqa: F401, I001
from civicpost.web.app import create_app

__all__ = ["create_app", "served_app"]


def served_app() -> FastAPI:
    """The factory each of uvicorn's worker processes calls (`civicpost serve --workers N`)."""
    return create_app(serving=True)
