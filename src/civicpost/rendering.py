"""Announcement + channel -> Rendition: the exact text a channel will receive.

Wording lives in templates/posts/<platform>.txt.j2, rendered in a sandboxed
Jinja environment with StrictUndefined. Every template is compiled when the
service starts, so a broken one stops the start with its file and line.
"""

import json
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, TemplateSyntaxError, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from civicpost.content import ChannelView, Draft, Problem, Rendition

PLATFORMS = ("x", "facebook", "mastodon", "bluesky", "feed", "email", "webhook")


class TemplateConfigError(RuntimeError):
    pass


class Renderer:
    def __init__(self, templates_dir: Path) -> None:
        posts = Path(templates_dir) / "posts"
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(posts),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["tojson"] = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True)
        self.templates = {}
        for name in self._names():
            try:
                self.templates[name] = self.env.get_template(name)
            except TemplateSyntaxError as exc:
                raise TemplateConfigError(
                    f"template {posts / (exc.name or name)} line {exc.lineno}: {exc.message}"
                ) from None
            except OSError as exc:
                raise TemplateConfigError(f"template {posts / name} is missing: {exc}") from None

    @staticmethod
    def _names() -> list[str]:
        names = [f"{p}.txt.j2" for p in PLATFORMS]
        names += ["email_subject.txt.j2", "email.html.j2", "feed.html.j2"]
        return names

    def render(self, draft: Draft, channel: ChannelView) -> Rendition:
        language = channel.language
        wording = draft.wording(language)
        problems: list[Problem] = []
        if wording is None:
            problems.append(
                Problem(
                    "missing_translation",
                    "error",
                    f"The channel {channel.name} publishes in '{language}', but the "
                    f"announcement has no '{language}' translation.",
                    f"Add a '{language}' translation or remove this channel.",
                )
            )
            wording = (draft.title, draft.body)
        title, body = wording
        context = {
            "title": title,
            "body": body,
            "link": draft.link,
            "department": draft.department,
            "emergency": draft.emergency,
            "language": language,
            "channel": {"name": channel.name, "platform": channel.platform},
            "media": [{"id": m.id, "alt_text": m.alt_text} for m in draft.media],
            "publish_at": draft.publish_at.isoformat() if draft.publish_at else None,
            "announcement_id": draft.announcement_id,
        }
        if channel.override is not None:
            text = channel.override
        else:
            text = self.templates[f"{channel.platform}.txt.j2"].render(context).strip()
        extra: dict = {}
        if channel.platform == "email":
            extra["subject"] = self.templates["email_subject.txt.j2"].render(context).strip()
            extra["html"] = self.templates["email.html.j2"].render(context)
        elif channel.platform == "feed":
            extra["html"] = self.templates["feed.html.j2"].render(context)
        length = len(text)
        return Rendition(
            channel_id=channel.id,
            platform=channel.platform,
            language=language,
            text=text,
            length=length,
            limit=None,
            fits=True,
            media=list(draft.media),
            extra=extra,
            problems=problems,
        )

    def render_all(self, draft: Draft, channels: list[ChannelView]) -> list[Rendition]:
        return [self.render(draft, channel) for channel in channels]
