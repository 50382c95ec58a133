"""Cache keys: the only way to name a cache entry, always scoped by site AND principal.

Two users of one JIRA site can see different issues (project permissions, issue security
levels), so a key without the principal would leak one user's view to another (STYLE, traps).
``cache_key`` therefore takes both, and refuses empty ones; the single exception is
``shared_key`` for the few resources whose JIRA answer is documented to be identical for every
user of a site (``SHARED_RESOURCES`` below).

Layout (every part percent-escaped, so ``:`` in a Cloud accountId cannot forge a boundary and
``#``/``*`` never occur inside a part)::

    jgw:v1:{site}:{principal}:{resource}:{part}...[:f={fieldset hash}]
    jgw:v1:{site}:*:{resource}:{part}...                 shared, permission-neutral data
    jgw:v1:{site}:#idx:issue:{ISSUE-KEY}                  index set: keys built from that issue

Everything of a site sits under ``jgw:v1:{site}:``, so ``invalidate_site`` is one prefix. The
index lives under the site prefix too (rather than ``jgw:v1:idx:{site}``) so that a site whose id
is ``idx`` can never collide with the index namespace.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import quote

KEY_VERSION = "jgw:v1"
SHARED_PRINCIPAL = "*"

# Resources whose JIRA answer does not depend on the caller, from the Cloud platform v3 spec
# (``../shared/jira-contract/openapi``): each is documented as "Permission to access Jira" or
# "None", i.e. global data, not filtered by project permissions.
#   priorities        GET /rest/api/3/priority        "Returns the list of all issue priorities"
#   resolutions       GET /rest/api/3/resolution      "all issue resolution values"
#   status_categories GET /rest/api/3/statuscategory  "all status categories"
#   server_info       GET /rest/api/3/serverInfo      "Permissions required: None"
# NOT shared, although they look global: statuses (/status needs Browse projects *for the
# project* and lists statuses of workflows the user can see), issue types (/issuetype returns
# only the types of projects the user can browse), fields (/field filters by the projects the
# user can browse), projects and users. Those are keyed per principal like everything else.
SHARED_RESOURCES = frozenset({"priorities", "resolutions", "status_categories", "server_info"})

# Characters kept verbatim inside a part, beyond letters, digits and "_.-~" (always kept).
_SAFE = "@+="


_VERBATIM = re.compile(r"[A-Za-z0-9_.~@+=-]*")


def _part(value: str) -> str:
    # The regex check first: quote() costs ~2 µs a part, and most parts (ids, issue keys,
    # digests) need no escaping; this runs on every response-cache lookup.
    if _VERBATIM.fullmatch(value):
        return value
    return quote(value, safe=_SAFE)


def _require(name: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"cache keys need a non-empty {name}")
    return _part(value)


def fieldset_hash(fields: Iterable[str]) -> str:
    """A short stable digest of a field selection (order and duplicates do not matter)."""
    canonical = "\n".join(sorted(set(fields)))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _build(
    site: str, principal: str, resource: str, parts: tuple[str, ...], fields: Iterable[str] | None
) -> str:
    pieces = [KEY_VERSION, site, principal, _require("resource", resource)]
    pieces.extend(_part(str(part)) for part in parts)
    if fields is not None:
        pieces.append("f=" + fieldset_hash(fields))
    return ":".join(pieces)


def cache_key(
    site_id: str,
    principal_id: str,
    resource: str,
    *parts: str,
    fields: Iterable[str] | None = None,
) -> str:
    """The key of one principal's view of a resource on a site.

    ``cache_key("s1", "alice", "issue", "ALPHA-12", fields=["summary", "status"])`` ->
    ``jgw:v1:s1:alice:issue:ALPHA-12:f=…``. ``fields`` is the JIRA field set the value was fetched
    with: the same issue fetched with fewer fields is a different entry. A principal of ``"*"`` is
    refused here; use ``shared_key`` for permission-neutral data.
    """
    if principal_id == SHARED_PRINCIPAL:
        raise ValueError("use shared_key() for permission-neutral data, not principal '*'")
    return _build(
        _require("site_id", site_id),
        _require("principal_id", principal_id),
        resource,
        parts,
        fields,
    )


def shared_key(
    site_id: str, resource: str, *parts: str, fields: Iterable[str] | None = None
) -> str:
    """The key of data that is provably the same for every user of a site.

    Only ``SHARED_RESOURCES`` qualify (see the comment there for why each does); anything else
    raises ``ValueError``. The caller must still have authenticated the principal against the
    site: a shared entry is served without asking JIRA.
    """
    if resource not in SHARED_RESOURCES:
        raise ValueError(
            f"{resource!r} is not permission-neutral; shared keys exist only for "
            f"{sorted(SHARED_RESOURCES)}"
        )
    return _build(_require("site_id", site_id), SHARED_PRINCIPAL, resource, parts, fields)


def site_prefix(site_id: str) -> str:
    """The prefix of every key (entries, shared data, index sets, responses) of one site."""
    return f"{KEY_VERSION}:{_require('site_id', site_id)}:"


def issue_tag(site_id: str, issue_key: str) -> str:
    """The index set naming every cache key built from ``issue_key`` on ``site_id``.

    JIRA issue keys are case-insensitive (``alpha-1`` finds ``ALPHA-1``), so the tag is upper-case.
    """
    return f"{site_prefix(site_id)}#idx:issue:{_require('issue_key', issue_key.upper())}"
