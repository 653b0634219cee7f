"""Announcement + channel -> Rendition: the exact text a channel will receive.

Wording lives in templates/posts/<platform>.txt.j2, rendered in a sandboxed
Jinja environment with StrictUndefined. Every template is compiled, and
rendered once with sample values, when the service starts: a broken one (or
one naming a variable that does not exist) stops the start with its file
and line, not a publish at 3 a.m.
"""

import json
import traceback
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateError, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from civicpost.config import ConfigError
from civicpost.content import ChannelView, Draft, MediaRef, Problem, Rendition
from civicpost.media import check_media
from civicpost.platforms import SPECS, PlatformSpec, spec
from civicpost.redirects import Tracking
from civicpost.text.lengths import Measure
from civicpost.text.lint import lint_media, lint_text, warm_up
from civicpost.text.splitting import split_thread


class TemplateConfigError(ConfigError):
    """A broken post template: the service refuses to start, naming file and line."""


def _load(env: ImmutableSandboxedEnvironment, posts: Path, name: str) -> Template:
    """A post template compiled and rendered with sample values, or the start stopped with its file and line."""
    path = posts / name
    try:
        template = env.get_template(name)
        for sample in _samples():
            template.render(sample)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None) or _template_line(exc, path)
        raise TemplateConfigError(f"template {path} line {line}: {exc}") from None
    except OSError as exc:
        raise TemplateConfigError(f"template {path} cannot be read: {exc}") from None
    return template


# Compiled post templates by the state of their directory (see _fingerprint).
_COMPILED: dict[tuple, tuple[ImmutableSandboxedEnvironment, dict[str, Template]]] = {}


def _fingerprint(posts: Path) -> tuple:
    """Every file under the templates' directory with its size and change time: any edit is a new key."""
    try:
        files = sorted(p for p in posts.rglob("*") if p.is_file())
        return (str(posts.resolve()), tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    except OSError:
        return (str(posts), None)  # unreadable: compiled (and refused) each time, with the file named


class Renderer:
    def __init__(self, templates_dir: Path, *, warm: bool = True, tracking: Tracking | None = None) -> None:
        self.posts = Path(templates_dir) / "posts"
        # Set where the service knows its address and secret: channels that track links send /r/ addresses.
        self.tracking = tracking
        # The same files, unchanged since another Renderer in this process compiled and tried them, are
        # not compiled again: the environment is immutable and holds nothing of one Renderer's own.
        key = _fingerprint(self.posts)
        if key not in _COMPILED:
            env = ImmutableSandboxedEnvironment(
                loader=FileSystemLoader(self.posts),
                undefined=StrictUndefined,
                # Only HTML is escaped: "<b>&" in a title is what X should show.
                autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                keep_trailing_newline=False,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.filters["tojson"] = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True)
            _COMPILED[key] = (env, {name: _load(env, self.posts, name) for name in self._names()})
        self.env, self.templates = _COMPILED[key]
        if warm:
            warm_up()

    @staticmethod
    def _names() -> list[str]:
        names = [s.template for s in SPECS.values()]
        names += [extra for s in SPECS.values() for extra in s.extras.values()]
        return names


    def render(self, draft: Draft, channel: ChannelView) -> Rendition:
        """The rendition of `draft` on `channel`, measured and checked.

        When a too-long post is threaded, `text` stays the whole text and
        `length` its whole length (what the drafter wrote), `parts` holds the
        posts as sent, and `fits` is True when every part fits the platform.
        """
        language = channel.language
        problems: list[Problem] = []
        wording = draft.wording(language)
        if wording is None:
            problems.append(Problem(
                "missing_translation", "error",
                f"The channel {channel.name} publishes in '{language}', but the "
                f"announcement has no '{language}' translation.",
                f"Add a '{language}' translation or remove this channel.",
            ))
            wording = (draft.title, draft.body)
        context = _context(draft, channel, *wording)
        platform = spec(channel.platform)
        if channel.override is not None:
            text = channel.override
        else:
            text = self._render(platform.template, context).strip()
        extra: dict[str, Any] = {}
        for key, template in platform.extras.items():
            rendered = self._render(template, context)
            extra[key] = rendered.strip() if template.endswith(".txt.j2") else rendered

        size = platform.measure(text, channel.settings)
        parts, fits, length_problems = _fit(text, size, channel, platform, channel.link or draft.link)
        problems += length_problems + _rule_problems(platform, parts or [text])
        media_problems, notes = check_media(platform.media, platform.label, draft.media)
        problems += media_problems
        problems += lint_media(platform.media, platform.label, draft.media)
        readable = f"{wording[0]}\n\n{wording[1]}" if platform.lint_wording else text
        problems += lint_text(readable, language)
        if notes:
            extra["notes"] = notes
        return Rendition(
            channel_id=channel.id,
            platform=channel.platform,
            language=language,
            text=text,
            length=size.length,
            limit=size.limit,
            fits=fits,
            parts=parts,
            media=list(draft.media),
            extra=extra,
            problems=problems,
        )

    def render_all(self, draft: Draft, channels: list[ChannelView]) -> list[Rendition]:
        return [self.render(draft, channel) for channel in channels]

    def _render(self, name: str, context: dict[str, Any]) -> str:
        return self.templates[name].render(context)


def _context(draft: Draft, channel: ChannelView, title: str, body: str) -> dict[str, Any]:
    return {
        "title": title,
        "body": body,
        "link": channel.link or draft.link,
        "department": draft.department,
        "emergency": draft.emergency,
        "language": channel.language,
        "channel": {"name": channel.name, "platform": channel.platform},
        "media": [{"id": m.id, "alt_text": m.alt_text} for m in draft.media],
        "publish_at": draft.publish_at.isoformat() if draft.publish_at else None,
        "announcement_id": draft.announcement_id,
    }


def _fit(text: str, size: Measure, channel: ChannelView, platform: PlatformSpec,
         link: str | None) -> tuple[list[str] | None, bool, list[Problem]]:
    """(parts, fits, problems) for a text measured at `size` on `channel`."""
    if size.fits:
        return None, True, []
    if size.refused:
        # No thread helps: every part with the character would be refused.
        return None, False, _refused_characters(size, platform) + _too_long(size, platform)
    if channel.settings.get("overflow", "refuse") == "thread" and platform.capabilities.thread:
        parts = split_thread(text, lambda s: platform.measure(s, channel.settings).fits, keep_first=link)
        sizes = [platform.measure(p, channel.settings) for p in parts]
        if all(s.fits for s in sizes):
            return parts, True, []
        worst = next(i for i, s in enumerate(sizes, start=1) if not s.fits)
        return parts, False, [Problem(
            "too_long", "error",
            f"This post is too long for {platform.label} even as a thread: part {worst} holds a "
            f"single word or link longer than {platform.label} allows.",
            "Shorten that word or link (for example with a shorter page address).",
        )]
    return None, False, _too_long(size, platform)


def _rule_problems(platform: PlatformSpec, posts: list[str]) -> list[Problem]:
    """The platform's other rules for words (its spec's `length.checks`) on
    each post sent, each broken rule said once."""
    found: dict[str, Problem] = {}
    for post in posts:
        for check in platform.length.checks:
            if (problem := check(post)) is not None:
                found.setdefault(problem.code, problem)
    return list(found.values())


def _too_long(size: Measure, platform: PlatformSpec) -> list[Problem]:
    name = platform.label
    problems = []
    if size.over_length:
        cut = size.length - (size.limit or 0)
        problems.append(Problem(
            "too_long", "error",
            f"This post is {size.length} characters long{platform.length.note}; "
            f"{name} allows {size.limit}. Cut {cut} character{'s' if cut > 1 else ''}.",
            "Shorten the text, write a shorter version for this channel"
            + (", or set the channel to post long text as a thread." if platform.capabilities.thread else "."),
        ))
    if size.over_bytes:
        cut = (size.size_bytes or 0) - (size.byte_limit or 0)
        problems.append(Problem(
            "too_many_bytes", "error",
            f"This post takes {size.size_bytes} bytes; {name} allows {size.byte_limit} bytes. "
            "Letters outside the basic Latin alphabet and emoji take 2 to 4 bytes each.",
            f"Cut about {cut} bytes, or write a shorter version for this channel.",
        ))
    return problems


def _refused_characters(size: Measure, platform: PlatformSpec) -> list[Problem]:
    name, one = platform.label, len(size.refused) == 1
    described = " and ".join(_character(c) for c in size.refused)
    return [Problem(
        "invalid_character", "error",
        f"{name} refuses any post containing {described}, "
        f"{'an invisible character' if one else 'invisible characters'} usually pasted in from another "
        "program, whatever the post's length.",
        f"Delete {'it' if one else 'them'}: retype the words around {'it' if one else 'them'}, or paste the "
        "text as plain text first; or write a version for this channel without "
        f"{'it' if one else 'them'}.",
    )]


def _character(char: str) -> str:
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'a noncharacter').lower()})"


def _samples() -> list[dict[str, Any]]:
    """Contexts that exercise every branch a post template can take."""
    full = Draft(
        title="Sample title", body="First paragraph.\n\nSecond paragraph.", department="Parks",
        link="https://city.example/sample", emergency=True, announcement_id=1,
        media=[MediaRef(id="0" * 64, alt_text="A sample picture")],
        publish_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    bare = Draft(title="Sample title", body="Body.", department="Parks")
    channel = ChannelView(id=1, platform="x", name="Sample channel")
    return [_context(d, channel, d.title, d.body) for d in (full, bare)]


def _template_line(exc: BaseException, path: Path) -> int | str:
    # Jinja rewrites tracebacks so template frames carry the template's own file and line.
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename) == path:
            return frame.lineno or "?"
    return "?"
