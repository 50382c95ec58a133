"""The renderer's input: plain frozen dataclasses, independent of JIRA's JSON.

The caller (the export job) maps JIRA issues to `ReportIssue` — rich text already converted to
sanitized HTML by `gateway.markup`, inline image bytes already fetched as the requesting user —
and validates the user's template options with `ReportOptions.create`, which raises
`InvalidReportOption` naming the offending option.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.reports.dates import LOCALES, normalize_locale

Template = Literal["detailed", "summary", "compact"]
PageSize = Literal["A4", "LETTER"]
Orientation = Literal["portrait", "landscape"]

TEMPLATES: tuple[Template, ...] = ("detailed", "summary", "compact")
SECTIONS = ("fields", "description", "comments", "changelog", "attachments", "subtasks", "links")
PAGE_SIZES: tuple[PageSize, ...] = ("A4", "LETTER")
ORIENTATIONS: tuple[Orientation, ...] = ("portrait", "landscape")
# Header and footer are one line each; longer text would run under the page number.
MAX_HEADER_CHARS = 200
MAX_FIELDS = 200


class InvalidReportOption(ValueError):
    """A template option the renderer cannot honour; `option_name` is the option's name."""

    def __init__(self, option_name: str, message: str) -> None:
        super().__init__(f"{option_name}: {message}")
        self.option_name = option_name
        self.message = message


@dataclass(frozen=True, slots=True)
class ReportComment:
    author: str
    created: datetime
    body_html: str


@dataclass(frozen=True, slots=True)
class ChangeItem:
    field: str
    from_text: str | None
    to_text: str | None


@dataclass(frozen=True, slots=True)
class ReportChange:
    author: str
    created: datetime
    items: tuple[ChangeItem, ...]


@dataclass(frozen=True, slots=True)
class ReportAttachment:
    """An attachment; `image_bytes` set by the caller for images shown inline.

    `<img src>` in rich text matches `url`, then `name`, then the last path segment of the src.
    """

    name: str
    size: int
    mime: str
    author: str
    created: datetime
    url: str | None = None
    image_bytes: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ReportRelated:
    """A subtask or an issue link; `relation` is e.g. "blocks" or "is cloned by"."""

    key: str
    summary: str
    status: str
    relation: str = ""


@dataclass(frozen=True, slots=True)
class ReportIssue:
    key: str
    url: str
    summary: str
    description_html: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    status: str = ""
    priority: str = ""
    assignee: str = ""
    reporter: str = ""
    created: datetime | None = None
    updated: datetime | None = None
    labels: tuple[str, ...] = ()
    comments: tuple[ReportComment, ...] = ()
    changelog: tuple[ReportChange, ...] = ()
    attachments: tuple[ReportAttachment, ...] = ()
    subtasks: tuple[ReportRelated, ...] = ()
    links: tuple[ReportRelated, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """Validated template options; build with `ReportOptions.create(**user_options)`.

    `fields` is None for "every field in the issue's order", else the labels to show in that
    order, matched case-insensitively against the built-in fields (Status, Priority, Assignee,
    Reporter, Created, Updated, Labels) and the caller's `ReportIssue.fields` (custom fields).
    """

    template: Template = "detailed"
    sections: tuple[str, ...] = SECTIONS
    fields: tuple[str, ...] | None = None
    page_size: PageSize = "A4"
    orientation: Orientation = "portrait"
    header_text: str = ""
    footer_text: str = ""
    time_zone: str = "UTC"
    locale: str = "en"

    @classmethod
    def create(cls, **options: Any) -> ReportOptions:
        """Validate raw options (e.g. a saved template's JSON); unknown names are errors too."""
        known = set(cls.__dataclass_fields__)
        for name in options:
            if name not in known:
                raise InvalidReportOption(name, "unknown option")
        values = {k: v for k, v in options.items() if v is not None or k == "fields"}
        return cls(**_validated(values))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def _choice(name: str, value: object, allowed: Sequence[str], *, fold: bool = False) -> str:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and fold:
        text = text.upper() if name == "page_size" else text.lower()
    if text not in allowed:
        raise InvalidReportOption(name, f"must be one of {', '.join(allowed)}, not {value!r}")
    return str(text)


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidReportOption(name, "must be a string")
    if len(value) > MAX_HEADER_CHARS or "\n" in value:
        raise InvalidReportOption(name, f"must be one line of at most {MAX_HEADER_CHARS} chars")
    return value


def _labels(name: str, value: object, allowed: Sequence[str] | None) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidReportOption(name, "must be a list of names")
    items = list(value)
    if len(items) > MAX_FIELDS:
        raise InvalidReportOption(name, f"at most {MAX_FIELDS} entries")
    seen: set[str] = set()
    result: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InvalidReportOption(name, f"entries must be non-empty strings, not {item!r}")
        folded = item.strip().lower()
        if allowed is not None and folded not in allowed:
            raise InvalidReportOption(name, f"unknown entry {item!r} ({', '.join(allowed)})")
        if folded in seen:
            raise InvalidReportOption(name, f"duplicate entry {item!r}")
        seen.add(folded)
        result.append(folded if allowed is not None else item.strip())
    return tuple(result)


def _validated(values: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if "template" in out:
        out["template"] = _choice("template", out["template"], TEMPLATES, fold=True)
    if "sections" in out:
        out["sections"] = _labels("sections", out["sections"], SECTIONS)
    if out.get("fields") is not None:
        out["fields"] = _labels("fields", out["fields"], None)
    if "page_size" in out:
        out["page_size"] = _choice("page_size", out["page_size"], PAGE_SIZES, fold=True)
    if "orientation" in out:
        out["orientation"] = _choice("orientation", out["orientation"], ORIENTATIONS, fold=True)
    for name in ("header_text", "footer_text"):
        if name in out:
            out[name] = _text(name, out[name])
    if "time_zone" in out:
        zone = out["time_zone"]
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise InvalidReportOption("time_zone", f"unknown IANA time zone {zone!r}") from exc
    if "locale" in out:
        locale = normalize_locale(out["locale"])
        if locale is None:
            raise InvalidReportOption("locale", f"supported: {', '.join(sorted(LOCALES))}")
        out["locale"] = locale
    return out


@dataclass(frozen=True)
class ReportData:
    """A whole export. `issues` may be a one-shot iterator: the merged renderer reads it once.

    `skipped` lists keys the caller could not render (unknown, or invisible to the requester);
    the cover page counts them.
    """

    title: str
    generated_at: datetime
    requested_by: str
    issues: Iterable[ReportIssue]
    options: ReportOptions = field(default_factory=ReportOptions)
    skipped: tuple[str, ...] = ()
