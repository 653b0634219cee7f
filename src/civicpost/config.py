"""One Settings class: every knob is a CIVICPOST_* environment variable."""

import logging
import os
import re
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from civicpost import PROJECT_ROOT

log = logging.getLogger(__name__)

# Values people paste from examples; a key like this protects nothing.
PLACEHOLDER_KEYS = {"", "changeme", "change-me", "secret", "dev", "development", "test"}
LEGACY_KEY_FILE = ".civicpost-secret"
# What a value of CIVICPOST_OIDC_ROLE_MAP may mean (civicpost.identity.provision reads them).
ROLE_NAMES = {"staff", "approver", "admin"}
DEPARTMENT_MEANING = re.compile(r"department:[a-z0-9][a-z0-9-]{0,62}")


class ConfigError(RuntimeError):
    """A setting stops the service from starting; the message says how to fix it."""


class Settings(BaseSettings):
    # A .env file in the working directory is read too (the environment wins):
    # the README's first steps keep the secret key there.
    model_config = SettingsConfigDict(env_prefix="CIVICPOST_", extra="ignore", env_file=".env")

    # A key is required unless development is chosen explicitly: a service
    # started with a forgotten variable must not quietly make its own key.
    env: Literal["development", "test", "production"] = Field(
        default="production",
        description="`development` lets a first look on one machine run without a secret key (one is made "
                    "beside the SQLite file); anything else requires CIVICPOST_SECRET_KEY")
    database_url: str = Field(
        default="sqlite:///./civicpost.db",
        description="the database: SQLite (embedded, one machine) or `postgresql+psycopg://user@host/db` "
                    "(production, several workers)")
    secret_key: SecretStr | None = Field(
        default=None, json_schema_extra={"shown_default": "required"},
        description="encrypts channel credentials: 32+ random characters, e.g. `python3 -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))'`; every start checks it is the key the data was written with")
    timezone: str = Field(default="UTC", description="the city's IANA time zone, for display and for dates given "
                                                     "without a time, e.g. `America/Chicago`")
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="the address residents use (links in posts and feeds, the directory's QR code, cookies' "
                    "Secure flag when https)")
    city_name: str = Field(default="Our City", description="the city's name on every page and feed")
    templates_dir: Path = Field(
        default=PROJECT_ROOT / "templates", json_schema_extra={"shown_default": "the installation's `templates/`"},
        description="point at your own copy to change the wording of posts and pages")
    media_dir: Path = Field(default=Path("./media"), json_schema_extra={"shown_default": "`./media`"},
                            description="where uploaded images are kept")

    # A staff session not used for this long ends (signed out on the server).
    session_idle_minutes: int = Field(default=480, ge=5, le=60 * 24 * 30,
                                      description="a staff session unused this long ends (5 or more)")

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="largest request body (413 beyond)")
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="largest image upload")
    # Image decodes at once in one process; each may take ~400 MB (civicpost.media).
    max_concurrent_decodes: int = Field(
        default=2, ge=1, le=64,
        description="image uploads decoded at once per process (each may take ~400 MB); more wait up to 3 s, "
                    "then get 503 with `Retry-After`")

    public_check_seconds: float = Field(
        default=0.5, ge=0, le=0.9,
        description="how often each process reads whether the public pages and feeds it keeps rendered changed "
                    "(a retraction leaves them within this; 0 reads it on every request)")

    lease_seconds: int = Field(default=120, ge=1, description="how long a worker holds a delivery it claimed "
                                                              "(renewed while the send runs)")
    publish_timeout_seconds: float = Field(default=30, gt=0, description="the longest one platform call may take")
    retry_base_seconds: float = Field(default=30, ge=0, description="first wait before retrying a failed send "
                                                                    "(doubling, with jitter)")
    retry_max_seconds: float = Field(default=1800, ge=0, description="longest wait between retries")
    max_attempts: int = Field(default=8, ge=1, description="attempts before a delivery is failed (or unknown)")
    worker_concurrency: int = Field(default=32, ge=1, description="sends in flight per worker process")
    emergency_review_hours: int = Field(
        default=24, ge=1, le=24 * 30,
        description="after a break-glass publish, the hours within which an approver must sign it off")

    # Channels may point at loopback, private and link-local addresses (the
    # sandbox on 127.0.0.1, a gateway on the city's network): off by default.
    allow_private_network: bool = Field(
        default=False,
        description="lets channels reach loopback, private and link-local addresses (the sandbox, a gateway on "
                    "the city's network); `civicpost demo` sets it for itself")

    # The city's mail server, for notifications to staff. Without a host no mail leaves the machine.
    smtp_host: str = Field(default="", json_schema_extra={"shown_default": "empty: no mail is sent"},
                           description="the city's mail server for notifications to staff, e.g. `mail.city.example`")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="the mail server's port")
    smtp_username: str = Field(default="", json_schema_extra={"shown_default": "empty: no sign-in"},
                               description="sign-in name at the mail server, if it asks for one")
    smtp_password: SecretStr | None = Field(default=None, json_schema_extra={"shown_default": "empty"},
                                            description="password at the mail server (never shown or logged)")
    smtp_starttls: bool = Field(default=True, description="encrypt the connection to the mail server (STARTTLS)")
    smtp_from: str = Field(default="civicpost@localhost", description="the sender address of notifications, e.g. "
                                                                      "`civicpost@city.example`")
    fanout_connections: int = Field(
        default=40, ge=1, le=200,
        description="SMTP connections each worker keeps open to send a `subscribers` channel's mail to residents "
                    "(at 20 ms a message, 40 connections sent 100,000 in 89 s in bench/fanout.py)")
    digest_hour: int = Field(
        default=7, ge=0, le=23,
        description="the hour, in the city's time zone, when residents who chose a daily digest get the day's "
                    "announcements in one message (emergencies always go at once)")
    sms_account_sid: str = Field(
        default="", max_length=64, pattern=r"^[A-Za-z0-9]*$", json_schema_extra={"shown_default": "empty: no SMS"},
        description="the account id at the city's SMS provider (a Twilio-compatible Messages API)")
    sms_auth_token: SecretStr | None = Field(
        default=None, json_schema_extra={"shown_default": "empty: no SMS"},
        description="the SMS provider's auth token: signs what it sends to `/hooks/sms` (`X-Twilio-Signature`), "
                    "never shown or logged")
    sms_api_base: str = Field(
        default="https://api.twilio.com", max_length=2048,
        description="the SMS provider's Messages API (Twilio's, or a compatible one, or the sandbox)")
    sms_from: str = Field(
        default="", max_length=64, pattern=r"^(\+[0-9]{6,15}|MG[0-9a-fA-F]{32})?$",
        json_schema_extra={"shown_default": "empty: no SMS"},
        description="the city's number texts come from (`+15550104477`) or a messaging service id (`MG...`)")
    sms_per_second: float = Field(
        default=1, gt=0, le=1000,
        description="texts the provider lets the city's number send a second (a long code 1, toll-free 3, a short "
                    "code 100): sets the pace and the time shown before approval")
    sms_price_per_segment: float = Field(
        default=0.0083, ge=0, le=10, description="what one SMS segment costs, for the estimate shown before approval")
    sms_monthly_cap: int = Field(
        default=0, ge=0, json_schema_extra={"shown_default": "`0`: no cap"},
        description="SMS segments the city may send in a calendar month; ordinary announcements that would go over "
                    "send no texts (emergencies still do). The default until an admin sets it on /staff/topics")
    sms_quiet_hours: str = Field(
        default="", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$|^$",
        json_schema_extra={"shown_default": "empty: none"},
        description="hours in the city's time zone when ordinary texts wait, e.g. `21:00-08:00` (emergencies go "
                    "at once). The default until an admin sets them on /staff/topics")
    notify_digest_minutes: float = Field(
        default=15, ge=0, le=24 * 60,
        description="announcements waiting for approval are gathered into one mail per approver at most this "
                    "often (emergencies go at once)")
    notify_poll_seconds: float = Field(default=5, gt=0, le=600,
                                       description="how often the worker looks for notifications to send")
    insights_poll_seconds: float = Field(default=60, gt=0, le=3600,
                                         description="how often the worker reads the posts' and channels' counts "
                                                     "that are due (1 h, 24 h, 7 d, 30 d after publishing; "
                                                     "followers daily), and the residents' replies that are "
                                                     "due (1 h, 24 h, 7 d)")

    cap_sender: str = Field(
        default="", max_length=200, pattern=r"^[^\s,<&]*$",
        json_schema_extra={"shown_default": "the host of `CIVICPOST_BASE_URL`"},
        description="who CAP alerts say sent them (`<sender>`), e.g. `alerts@city.example`; no spaces, commas, "
                    "`<` or `&`")
    cap_signing_key: Path | None = Field(
        default=None, json_schema_extra={"shown_default": "empty: unsigned"},
        description="a PEM file with the RSA private key that signs CAP alerts (XML-DSig, RSA-SHA256); needs "
                    "`CIVICPOST_CAP_SIGNING_CERT` too")
    cap_signing_cert: Path | None = Field(
        default=None, json_schema_extra={"shown_default": "empty: unsigned"},
        description="a PEM file with the certificate of `CIVICPOST_CAP_SIGNING_KEY`, carried in each signature")
    export_signing_key: Path | None = Field(
        default=None, json_schema_extra={"shown_default": "empty: a key derived from `CIVICPOST_SECRET_KEY`"},
        description="a PEM file with the Ed25519 private key that signs records exports; its public key is served "
                    "at `/.well-known/civicpost-export.pub`")
    export_dir: Path = Field(default=Path("./exports"), json_schema_extra={"shown_default": "`./exports`"},
                             description="where exports asked for through the API or the staff page are written "
                                         "for download")

    # Identity (SPEC §8.6): single sign-on and who may still use a password.
    oidc_issuer: str = Field(
        default="", max_length=500, json_schema_extra={"shown_default": "empty: no single sign-on"},
        description="the OpenID Connect issuer staff sign in with, e.g. "
                    "`https://login.microsoftonline.com/<tenant id>/v2.0`; its discovery document is read from "
                    "`<issuer>/.well-known/openid-configuration`")
    oidc_client_id: str = Field(default="", max_length=500, description="civicpost's client (application) ID at "
                                                                        "the identity provider")
    oidc_client_secret: SecretStr | None = Field(
        default=None, json_schema_extra={"shown_default": "empty"},
        description="civicpost's client secret at the identity provider (never shown or logged)")
    oidc_roles_claim: str = Field(
        default="roles", max_length=100, pattern=r"^[A-Za-z0-9_:./-]+$",
        description="the ID token claim that lists a person's civicpost roles (Entra ID's app roles arrive in "
                    "`roles`; Okta and Google Workspace usually send `groups`)")
    oidc_role_map: dict[str, str] = Field(
        default_factory=dict, json_schema_extra={"shown_default": "empty: the claim's values are the roles"},
        description="a JSON object from a claim value to `staff`, `approver`, `admin` or `department:<slug>`, "
                    "e.g. `{\"CityComms\": \"approver\", \"ParksTeam\": \"department:parks\"}`")
    sso_required: bool = Field(
        default=False,
        description="refuse password sign-in for everyone but `CIVICPOST_BREAK_GLASS_ADMIN` (every use of that "
                    "account is audited and the other admins are told)")
    break_glass_admin: str = Field(
        default="", max_length=320, json_schema_extra={"shown_default": "empty"},
        description="the one admin's email who may still sign in with a password when single sign-on is "
                    "required, for when the identity provider is down")
    second_factor_required: bool = Field(
        default=True,
        description="approvers, admins and emergency publishers who sign in with a password must add a second "
                    "factor (authenticator app or passkey) before any other staff page; turn off only for the few "
                    "days while they enrol after an upgrade")
    saml_idp_metadata: Path | None = Field(
        default=None, json_schema_extra={"shown_default": "empty: no SAML"},
        description="a file with the SAML 2.0 identity provider's metadata XML (needs `pip install "
                    "'civicpost[saml]'` and the `xmlsec1` program)")
    saml_roles_attribute: str = Field(
        default="roles", max_length=200,
        description="the SAML attribute that lists a person's civicpost roles (mapped like the OIDC claim, "
                    "through `CIVICPOST_OIDC_ROLE_MAP`)")

    # Residents who subscribe (SPEC §8.7).
    subscribe_sms_number: str = Field(
        default="", max_length=32, pattern=r"^[+0-9 ()-]*$", json_schema_extra={"shown_default": "empty: email only"},
        description="the city's SMS number residents text START to (confirming their number); when set, "
                    "`/subscribe` asks for a mobile number too, e.g. `+1 555 010 2000`")
    subscribe_phone_prefix: str = Field(
        default="", max_length=5, pattern=r"^(\+[1-9][0-9]{0,3})?$",
        json_schema_extra={"shown_default": "empty: numbers are typed with their country code"},
        description="the country code put before a mobile number typed without one at `/subscribe`, e.g. `+1`")
    embed_ancestors: str = Field(
        default="*", max_length=1000, pattern=r"^[A-Za-z0-9*:/.\- ]*$",
        description="the sites that may show `/embed/<topic>` in a frame (CSP `frame-ancestors`), separated by "
                    "spaces, e.g. `https://www.city.example`; `*`: any site (the list has no buttons); other "
                    "pages may never be framed")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'America/New_York'"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @model_validator(mode="after")
    def _signing_pair(self) -> "Settings":
        if (self.cap_signing_key is None) != (self.cap_signing_cert is None):
            raise ValueError("CAP signing needs both CIVICPOST_CAP_SIGNING_KEY and CIVICPOST_CAP_SIGNING_CERT "
                             "(PEM files); set both, or neither for unsigned alerts")
        return self

    @field_validator("oidc_role_map")
    @classmethod
    def _known_roles(cls, value: dict[str, str]) -> dict[str, str]:
        for claim_value, meaning in value.items():
            if meaning not in ROLE_NAMES and not DEPARTMENT_MEANING.fullmatch(meaning):
                raise ValueError(
                    f"CIVICPOST_OIDC_ROLE_MAP gives {claim_value!r} the meaning {meaning!r}; each value must be "
                    "staff, approver, admin or department:<slug> (a department's slug, e.g. department:parks)")
        return value

    @model_validator(mode="after")
    def _oidc_client(self) -> "Settings":
        secret = self.oidc_client_secret.get_secret_value() if self.oidc_client_secret else ""
        if self.oidc_issuer and not (self.oidc_client_id and secret):
            raise ValueError("single sign-on needs CIVICPOST_OIDC_CLIENT_ID and CIVICPOST_OIDC_CLIENT_SECRET "
                             "(from the app registered at the identity provider) besides CIVICPOST_OIDC_ISSUER")
        if self.oidc_issuer and not self.oidc_issuer.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("CIVICPOST_OIDC_ISSUER must be an https:// address (http only on this machine, "
                             "for tests), e.g. https://login.microsoftonline.com/<tenant id>/v2.0")
        return self

    def check_sign_in(self) -> None:
        """Refuse to serve when nobody could sign in as the settings ask."""
        if self.sso_required and not (self.oidc_issuer or self.saml_idp_metadata):
            raise ConfigError(
                "CIVICPOST_SSO_REQUIRED=true turns password sign-in off, but no single sign-on is set up: set "
                "CIVICPOST_OIDC_ISSUER, CIVICPOST_OIDC_CLIENT_ID and CIVICPOST_OIDC_CLIENT_SECRET (or "
                "CIVICPOST_SAML_IDP_METADATA), or CIVICPOST_SSO_REQUIRED=false")

    @property
    def cap_sender_name(self) -> str:
        return self.cap_sender or urlsplit(self.base_url).hostname or "localhost"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def fernet_key(self) -> str:
        """The key that encrypts channel credentials.

        A real key is required unless CIVICPOST_ENV=development is set. In
        development a key is made once and kept beside the SQLite database, so
        stored credentials survive a restart without anyone choosing a key for
        a first look, and a second database gets a key of its own.
        """
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if key.strip().lower() not in PLACEHOLDER_KEYS:
            if len(key) < 32:
                raise ConfigError(
                    "CIVICPOST_SECRET_KEY is too short: use at least 32 random characters, "
                    "e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
                )
            return key
        if self.env != "development":
            raise ConfigError(
                "CIVICPOST_SECRET_KEY is not set. It encrypts channel credentials; set it to at "
                "least 32 random characters, e.g. export CIVICPOST_SECRET_KEY=\"$(python -c "
                "'import secrets; print(secrets.token_urlsafe(32))')\", and keep it safe: "
                "credentials stored under one key cannot be read with another. "
                "For a first look on this machine only, CIVICPOST_ENV=development makes a key "
                "beside the SQLite database instead."
            )
        return _development_key(self.development_key_path())

    def development_key_path(self) -> Path | None:
        """Where development keeps its key: beside the SQLite file (None in memory)."""
        if not self.is_sqlite:
            raise ConfigError(
                "CIVICPOST_SECRET_KEY is not set: development makes a key only beside a SQLite "
                "database; with PostgreSQL set CIVICPOST_SECRET_KEY to at least 32 random characters"
            )
        database = make_url(self.database_url).database
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            return None
        path = Path(database).expanduser().resolve()
        return path.with_name(path.name + ".secret")


def _development_key(path: Path | None) -> str:
    if path is None:
        return secrets.token_urlsafe(32)  # the data lives as long as the process, and so does the key
    if path.exists():
        return path.read_text().strip()
    # Earlier versions kept the key in the working directory: carry it over,
    # or the credentials stored under it could no longer be read.
    earlier = Path(LEGACY_KEY_FILE)
    key = earlier.read_text().strip() if earlier.is_file() else secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under another name (mkstemp: readable by the owner only),
    # then linked into place, so a process starting beside this one never
    # reads half a key, and the first of two to link wins.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(key + "\n")
        os.link(temporary, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        os.unlink(temporary)
    log.warning("no CIVICPOST_SECRET_KEY set: %s development key in %s",
                f"copied {earlier.resolve()} as the" if earlier.is_file() else "made a", path)
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_table() -> str:
    """The README's table of settings, made from the class so the two cannot drift."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        value = str(field.default).lower() if isinstance(field.default, bool) else field.default
        default = extra.get("shown_default") or f"`{value}`"
        rows.append(f"| `CIVICPOST_{name.upper()}` | {default} | {field.description} |")
    return "\n".join(rows) + "\n"
