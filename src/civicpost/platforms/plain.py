"""A failure in words staff can read. Kept apart from the adapters' helpers
(_support.py) so that the engine's rules use it without loading any HTTP client."""

import re

# A platform's own error message is shown to staff (a channel's health, a
# delivery's last error): one line, this long at most.
MESSAGE_CHARACTERS = 160
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]+")


def short(text: object, limit: int = MESSAGE_CHARACTERS) -> str:
    """A platform's message fit to show staff: printable, one line, truncated."""
    flat = " ".join(_UNPRINTABLE.sub(" ", str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def plain(exc: BaseException | None) -> str:
    """A failure in words for staff: `connection refused`, never `ConnectError(111, '...')`.

    The words are the exception's own (or the OS's), read down the chain of
    causes; an exception without words is named by its kind.
    """
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        if isinstance(exc, OSError) and exc.strerror:
            return short(exc.strerror)
        # With several arguments str() is a Python tuple; with one it is the message (or the class's own wording).
        many = len(exc.args) > 1
        words = " ".join(str(arg) for arg in exc.args if isinstance(arg, str) and arg.strip()) if many else str(exc)
        if words:
            return short(words)
        exc = exc.__cause__ or exc.__context__
    return f"an error without a message ({type(seen[0]).__name__})" if seen else "an error without a message"
