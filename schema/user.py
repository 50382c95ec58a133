"""The JIRA user as the API shows it (assignees, reporters, comment authors, ``users(query)``)."""

from __future__ import annotations

import strawberry

from gateway.jira import dto


@strawberry.type(description="A person on a JIRA site.")
class User:
    id: strawberry.ID = strawberry.field(
        description="The user's JIRA id: the accountId on Cloud, the user key on Server/DC."
    )
    display_name: str = strawberry.field(description="The name JIRA shows for the user.")
    email: str | None = strawberry.field(
        description="Email address; null when the user's privacy settings hide it."
    )
    active: bool = strawberry.field(description="False for deactivated or deleted accounts.")
    avatar_url: str | None = strawberry.field(description="URL of the 48x48 avatar, if any.")
    time_zone: str | None = strawberry.field(description="IANA time zone, when JIRA tells it.")


def user_of(user: dto.User | None) -> User | None:
    if user is None:
        return None
    return User(
        id=strawberry.ID(user.id),
        display_name=user.display_name,
        email=user.email,
        active=user.active and not user.deleted,
        avatar_url=user.avatar_url,
        time_zone=user.time_zone,
    )
