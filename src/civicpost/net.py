"""Where the server may connect: public internet addresses only, unless the
city says otherwise (CIVICPOST_ALLOW_PRIVATE_NETWORK=true).

An admin types a channel's `api_base`, a webhook's `url` and an email
channel's `smtp_host`; the worker then connects there carrying the channel's
token. Pointed at 127.0.0.1, a metadata service at 169.254.169.254 or a
database on the city's network, that would turn civicpost into a way in.
So every host is resolved the way the HTTP and SMTP clients resolve it
(getaddrinfo, which also reads 127.1, 0x7f000001 and 2130706433 as
127.0.0.1) and every address it resolves to must be a public one.

The limit, said plainly: the clients resolve the name again when they
connect. A name whose owner answers "public" to our look-up and "internal"
a moment later (DNS rebinding) can slip between the two. The check runs
right before each connection, which narrows that window to a few
milliseconds but does not close it; a city that needs it closed sends
civicpost's outbound traffic through an egress proxy that enforces the
same rule.
"""

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as LookupTimeout
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A look-up that hangs must not hold a request (or a database transaction
# at channel create) for the resolver's own 10-30 s.
LOOKUP_SECONDS = 3.0
_lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="civicpost-dns")
# The name look-up, as the clients do it (tests put a fake resolver here: DNS is the network's edge).
resolver = socket.getaddrinfo

ALLOW_HINT = "set CIVICPOST_ALLOW_PRIVATE_NETWORK=true only if the city means civicpost to reach its own network"


class AddressRefused(Exception):
    """The host is, or resolves to, an address civicpost may not connect to;
    the message says which and why."""


class Unresolvable(Exception):
    """The host name cannot be found (or not in time)."""


def host_and_port(url: str) -> tuple[str, int | None]:
    """The host a client would connect to for `url` (brackets and a trailing dot removed)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused("the URL cannot be read: check its host and port") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise AddressRefused("the URL has no host")
    return host, port


def check_url(url: str) -> None:
    host, port = host_and_port(url)
    check_host(host, port)


def check_host(host: str, port: int | None = None) -> None:
    """Raise AddressRefused unless every address `host` resolves to is public."""
    host = host.strip().strip("[]").rstrip(".")
    if not host:
        raise AddressRefused("no host is given")
    literal = _numeric(host)
    if literal is not None:
        reason = why_refused(literal)
        if reason:
            spelled = host if host == str(literal) else f"{host} ({literal})"
            raise AddressRefused(f"{spelled} is {reason}; {ALLOW_HINT}")
        return
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        # RFC 6761: such names always mean this machine, whatever DNS says.
        raise AddressRefused(f"{host} is a loopback address (this machine); {ALLOW_HINT}")
    for address in resolve(host, port):
        reason = why_refused(address)
        if reason:
            raise AddressRefused(f"{host} resolves to {address}, {reason}; {ALLOW_HINT}")


def resolve(host: str, port: int | None = None) -> list[IPAddress]:
    future = _lookups.submit(resolver, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=LOOKUP_SECONDS)
    except LookupTimeout:
        raise Unresolvable(f"the name {host} did not resolve within {LOOKUP_SECONDS:g} s") from None
    except (socket.gaierror, UnicodeError, OSError):
        raise Unresolvable(f"the name {host} cannot be found") from None
    addresses = [_address(str(info[4][0])) for info in infos]
    if not addresses:
        raise Unresolvable(f"the name {host} has no address")
    return addresses


def why_refused(address: IPAddress) -> str | None:
    """Why a connection to `address` is refused (a phrase), or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 reaches 127.0.0.1; 2002:7f00:1:: (6to4) names it too.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return why_refused(embedded)
    if address.is_loopback:
        return "a loopback address (this machine)"
    if address.is_unspecified:
        return "the unspecified address (it reaches this machine)"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address (an internal network)"
    if address.is_reserved or not address.is_global:
        return "a reserved address, not on the public internet"
    return None


def _numeric(host: str) -> IPAddress | None:
    """The address if `host` is written as one, in any spelling the C library accepts."""
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return _address(str(infos[0][4][0]))


def _address(text: str) -> IPAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])  # fe80::1%eth0: the zone is not part of the address
