"""`civicpost check`: what stands between this configuration and a city relying on it.

Each check answers in plain words with what to do; nothing here changes data.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from civicpost.config import ConfigError, Settings
from civicpost.db import make_engine, make_sessionmaker

Level = Literal["ok", "warning", "problem"]
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Finding:
    level: Level
    subject: str
    message: str


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def empty(self) -> bool:
        return self.current is None

    @property
    def pending(self) -> bool:
        return self.current != self.head


def schema_state(database_url: str, *, engine: Engine | None = None) -> SchemaState:
    """The database's schema revision and the newest this version of civicpost knows."""
    from civicpost.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    own = engine is None
    engine = engine or make_engine(database_url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        if own:
            engine.dispose()
    return SchemaState(current=current, head=head or "")


def run_checks(settings: Settings, *, channels: bool = True, timeout: float = 10) -> list[Finding]:
    findings = list(_configuration(settings))
    engine = make_engine(settings.database_url)
    try:
        try:
            state = schema_state(settings.database_url, engine=engine)
        except SQLAlchemyError as exc:
            findings.append(Finding("problem", "database", f"cannot reach the database: {_first_line(exc)}. "
                                    "Check CIVICPOST_DATABASE_URL and that the database server runs."))
            return findings
        findings.append(Finding("ok", "database", f"reachable ({engine.dialect.name})"))
        if state.empty:
            findings.append(Finding("problem", "schema", "the database is empty; run `civicpost db upgrade`"))
            return findings
        if state.pending:
            findings.append(Finding("problem", "schema", f"migrations are pending (at {state.current}, newest "
                                    f"{state.head}); run `civicpost db upgrade`"))
            return findings
        findings.append(Finding("ok", "schema", f"up to date ({state.head})"))
        findings += list(_key(settings, engine))
        findings += list(_workers(engine))
        if channels:
            findings += list(_channels(settings, engine, timeout=timeout))
    finally:
        engine.dispose()
    return findings


def _configuration(settings: Settings) -> Iterator[Finding]:
    base = settings.base_url.rstrip("/")
    if base == DEFAULT_BASE_URL:
        yield Finding("problem", "base URL", "CIVICPOST_BASE_URL is not set: links in posts, feeds and the directory's "
                      "QR code point at 127.0.0.1. Set it to the address residents use, e.g. https://news.city.example")
    elif not base.startswith("https://"):
        yield Finding("warning", "base URL", f"{base} is not https: sign-in cookies are sent without the Secure flag")
    else:
        yield Finding("ok", "base URL", base)
    if settings.city_name == "Our City":
        yield Finding("warning", "city name", "CIVICPOST_CITY_NAME is not set: every page says \"Our City\"")
    else:
        yield Finding("ok", "city name", settings.city_name)


def _key(settings: Settings, engine: Engine) -> Iterator[Finding]:
    from civicpost import keycheck

    try:
        key = settings.fernet_key()
    except ConfigError as exc:
        yield Finding("problem", "secret key", str(exc))
        return
    with make_sessionmaker(engine)() as session:
        matches = keycheck.matches(session, key)
    if matches is False:
        yield Finding("problem", "secret key", keycheck.MISMATCH)
    elif matches is None:
        yield Finding("ok", "secret key", "set; it is remembered when the service first starts")
    else:
        yield Finding("ok", "secret key", "set, and the one the data was written with")


def _workers(engine: Engine) -> Iterator[Finding]:
    from civicpost.web.app import worker_report

    with make_sessionmaker(engine)() as session:
        report = worker_report(session)
    if report["status"] == "ready":
        yield Finding("ok", "worker", "checked in lately: " + ", ".join(report["workers"]))
    else:
        for problem in report["problems"]:
            yield Finding("problem", "worker", problem)


def _channels(settings: Settings, engine: Engine, *, timeout: float) -> Iterator[Finding]:
    from civicpost.models import Channel
    from civicpost.platforms import PlatformError, build_adapter
    from civicpost.security import CredentialBox, CredentialsUnreadable

    box = CredentialBox(settings.fernet_key())
    with make_sessionmaker(engine)() as session:
        rows = list(session.scalars(select(Channel).where(Channel.active.is_(True)).order_by(Channel.id)))
    if not rows:
        yield Finding("warning", "channels", "no channels yet: nothing will be published")
    for channel in rows:
        subject = f"channel {channel.id} ({channel.name})"
        try:
            adapter = build_adapter(channel.platform, box.open(channel.credentials_encrypted), dict(channel.settings),
                                    allow_private_network=settings.allow_private_network,
                                    timeout=timeout)
            adapter.check()
        except CredentialsUnreadable as exc:
            yield Finding("problem", subject, str(exc))
        except PlatformError as exc:
            yield Finding("problem", subject, f"the platform refused the credentials: {exc}")
        except Exception as exc:  # noqa: BLE001 - a check reports, it does not crash
            yield Finding("problem", subject, f"could not be checked: {_first_line(exc)}")
        else:
            yield Finding("ok", subject, "credentials work")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def print_findings(findings: list[Finding], echo: Callable[[str], None]) -> int:
    marks = {"ok": "ok     ", "warning": "warning", "problem": "PROBLEM"}
    for finding in findings:
        echo(f"{marks[finding.level]}  {finding.subject}: {finding.message}")
    problems = sum(f.level == "problem" for f in findings)
    warnings = sum(f.level == "warning" for f in findings)
    echo(f"\n{problems} problem(s), {warnings} warning(s)")
    return 1 if problems else 0

