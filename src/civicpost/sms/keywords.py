"""What a resident's text to the city's number asks for: the carriers' standard keywords."""

from typing import Literal

Keyword = Literal["stop", "start", "help", "other"]

# The opt-out and opt-in words US carriers and Twilio recognise, and HELP.
_WORDS: dict[str, Keyword] = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"), "stop"),
    **dict.fromkeys(("START", "YES", "UNSTOP", "OPTIN"), "start"),
    **dict.fromkeys(("HELP", "INFO"), "help"),
}


def keyword(body: str) -> Keyword:
    """The keyword a message is: its first word, in any case, alone or followed by anything."""
    words = body.strip().split(maxsplit=1)
    return _WORDS.get(words[0].strip(".!").upper(), "other") if words else "other"
