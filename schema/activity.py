"""What happens on an issue: comments, changelog entries, attachments, and their connections."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

import strawberry

from gateway.jira import dto
from schema.common import PageInfo, encode_offset
from schema.rich_text import RichText
from schema.user import User, user_of


@strawberry.type(description="A comment on an issue.")
class Comment:
    id: strawberry.ID = strawberry.field(description="JIRA's comment id.")
    author: User | None = strawberry.field(
        description="Who wrote it; null when the author's account is gone."
    )
    update_author: User | None = strawberry.field(description="Who edited it last.")
    body: RichText = strawberry.field(description="The comment text.")
    created: datetime | None = strawberry.field(description="When it was written.")
    updated: datetime | None = strawberry.field(description="When it was last edited.")
    visibility: str | None = strawberry.field(
        description="The role or group it is restricted to (e.g. 'role:Developers'); null for "
        "everyone who can see the issue."
    )


@strawberry.type(description="A comment and its cursor.")
class CommentEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this one.")
    node: Comment = strawberry.field(description="The comment.")


@strawberry.type(description="A page of an issue's comments, oldest first.")
class CommentConnection:
    edges: list[CommentEdge] = strawberry.field(description="Comments with their cursors.")
    nodes: list[Comment] = strawberry.field(description="The comments of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more comments follow.")
    total_count: int | None = strawberry.field(description="How many comments the issue has.")


@strawberry.type(description="One field change inside a changelog entry.")
class ChangeItem:
    field: str = strawberry.field(description="The field's name, e.g. 'status'.")
    field_id: str | None = strawberry.field(description="The field id (Cloud only).")
    from_: str | None = strawberry.field(
        name="from", description="The raw old value (an id for statuses, users...)."
    )
    from_string: str | None = strawberry.field(description="The old value as displayed.")
    to: str | None = strawberry.field(description="The raw new value.")
    to_string: str | None = strawberry.field(description="The new value as displayed.")


@strawberry.type(description="A set of field changes made by one person at one time.")
class ChangelogEntry:
    id: strawberry.ID | None = strawberry.field(description="JIRA's history id.")
    author: User | None = strawberry.field(description="Who made the change.")
    created: datetime | None = strawberry.field(description="When.")
    items: list[ChangeItem] = strawberry.field(description="The fields that changed.")


@strawberry.type(description="A changelog entry and its cursor.")
class ChangelogEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this one.")
    node: ChangelogEntry = strawberry.field(description="The entry.")


@strawberry.type(description="A page of an issue's history, oldest first.")
class ChangelogConnection:
    edges: list[ChangelogEdge] = strawberry.field(description="Entries with their cursors.")
    nodes: list[ChangelogEntry] = strawberry.field(description="The entries of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more entries follow.")
    total_count: int | None = strawberry.field(description="How many entries the history has.")


@strawberry.type(description="A file attached to an issue.")
class Attachment:
    id: strawberry.ID = strawberry.field(description="JIRA's attachment id.")
    name: str = strawberry.field(description="The file name.")
    size: int | None = strawberry.field(description="Size in bytes.")
    mime_type: str | None = strawberry.field(description="The MIME type JIRA recorded.")
    author: User | None = strawberry.field(description="Who attached it.")
    created: datetime | None = strawberry.field(description="When it was attached.")
    download_url: str = strawberry.field(
        description="Path on this gateway that downloads the file; send your Authorization "
        "header (the gateway fetches it from JIRA as you, so JIRA's permissions apply)."
    )


def comment_of(comment: dto.Comment) -> Comment:
    visibility = comment.visibility
    return Comment(
        id=strawberry.ID(comment.id),
        author=user_of(comment.author),
        update_author=user_of(comment.update_author),
        body=RichText(raw=comment.body),
        created=comment.created,
        updated=comment.updated,
        visibility=f"{visibility.type}:{visibility.value}" if visibility else None,
    )


def changelog_entry_of(entry: dto.ChangelogEntry) -> ChangelogEntry:
    return ChangelogEntry(
        id=strawberry.ID(entry.id) if entry.id else None,
        author=user_of(entry.author),
        created=entry.created,
        items=[
            ChangeItem(
                field=item.field,
                field_id=item.field_id,
                from_=item.from_id,
                from_string=item.from_string,
                to=item.to_id,
                to_string=item.to_string,
            )
            for item in entry.items
        ],
    )


def attachment_of(attachment: dto.Attachment, site_id: str) -> Attachment:
    return Attachment(
        id=strawberry.ID(attachment.id),
        name=attachment.filename,
        size=attachment.size,
        mime_type=attachment.mime_type,
        author=user_of(attachment.author),
        created=attachment.created,
        download_url=f"/attachments/{site_id}/{attachment.id}?name={quote(attachment.filename)}",
    )


def comment_connection(
    items: Sequence[dto.Comment],
    offset: int,
    has_next: bool,
    total: int | None,
) -> CommentConnection:
    """A page of comments whose first item is at absolute position ``offset``."""
    nodes = [comment_of(c) for c in items]
    edges = [CommentEdge(cursor=encode_offset(offset + i), node=n) for i, n in enumerate(nodes)]
    return CommentConnection(
        edges=edges,
        nodes=nodes,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
        total_count=total,
    )


def changelog_connection(
    items: Sequence[dto.ChangelogEntry],
    offset: int,
    has_next: bool,
    total: int | None,
) -> ChangelogConnection:
    nodes = [changelog_entry_of(e) for e in items]
    edges = [ChangelogEdge(cursor=encode_offset(offset + i), node=n) for i, n in enumerate(nodes)]
    return ChangelogConnection(
        edges=edges,
        nodes=nodes,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
        total_count=total,
    )
