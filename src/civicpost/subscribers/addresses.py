"""What residents type as an email address or a mobile number, checked and put in one form.

Errors are ValueError with a sentence saying what to fix; the value itself is never repeated in
a message (it may end up in a log).
"""

import re

MAX_EMAIL = 254
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_PHONE_FILLER = re.compile(r"[\s().\-/]")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def normalise_email(value: str) -> str:
    """`Name@Example.ORG ` -> `name@example.org`: what is stored, digested and sent to."""
    email = value.strip()
    if not email:
        raise ValueError("enter an email address, like name@example.org")
    if len(email) > MAX_EMAIL:
        raise ValueError(f"an email address has at most {MAX_EMAIL} characters")
    if any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in email):
        raise ValueError("an email address has no spaces or control characters")
    local, at, domain = email.rpartition("@")
    if not at or not local:
        raise ValueError("an email address has the form name@example.org")
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError("the part after @ is not a valid domain name") from None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise ValueError("the part after @ must be a domain name, like example.org")
    if not _LOCAL.fullmatch(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise ValueError("the part before @ may hold letters, digits and . _ - + (no accents or spaces)")
    return f"{local.lower()}@{domain}"


def normalise_phone(value: str, *, prefix: str = "") -> str:
    """`(555) 010-4477` with prefix `+1` -> `+15550104477` (E.164)."""
    number = _PHONE_FILLER.sub("", value)
    if not number:
        raise ValueError("enter a mobile number, like +15550104477")
    if len(value) > 40:
        raise ValueError("a mobile number has at most 15 digits")
    if number.startswith("00"):
        number = "+" + number[2:]
    elif not number.startswith("+") and prefix:
        number = prefix + number.lstrip("0")
    if not _E164.fullmatch(number) or not number.isascii():
        raise ValueError("write the mobile number with its country code, like +15550104477 (digits only)")
    return number


def masked_email(email: str) -> str:
    """`resident@example.org` -> `r…t@example.org`: enough for its owner to recognise it."""
    local, _, domain = email.partition("@")
    shown = local[0] + "…" + local[-1] if len(local) > 2 else local[0] + "…"
    return f"{shown}@{domain}"


def masked_phone(phone: str) -> str:
    return "…" + phone[-3:]
