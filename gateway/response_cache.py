"""Response cache: whole encoded GraphQL responses for repeated identical operations (issue 5.6).

Strawberry spends 9–13 ms of CPU executing a 50-issue query, Starlette returns a pre-encoded
body in ~0.1 ms: a UI repeats the same reads, so the warm path must skip GraphQL altogether. The
``/graphql`` endpoint calls ``answer()`` on the raw body BEFORE parsing; on a miss it executes,
then ``store()``s the encoded bytes with the issue tags they were built from.

- Key: ``cache_key(site, principal, "response", sha256(document, operationName, variables,
  extensions))`` with variables/extensions as canonical (sorted-key) JSON, so key order and
  whitespace in the JSON body do not matter, but every input that can change the answer does.
- Value: the strong ETag (``"`` + 32 hex of sha256(body) + ``"``, fixed 34 bytes) followed by
  the body, one blob: one ``GET`` in Redis, one dict lookup in-process.
- Invalidation: tagged with ``issue_tag``s, so ``Cache.invalidate_issue`` kills every response
  that contained the issue, for every principal.
- Never stored: non-query operations, responses with errors, responses built from stale entries.

Measured with ``benchmarks/bench_response_cache.py`` (2 busy shared cores, loopback Redis 7,
16 KB body, sequential hits; request digest ~5 µs + key + lookup + answer): in-process 11–15 µs,
Redis 100–170 µs per hit (one loopback round trip dominates). Either is ~100x below the 9–13 ms
of executing the query.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from starlette.types import Send

from gateway.cache import Cache, CacheOutcome
from gateway.cache_backends import CacheUnavailable
from gateway.cache_keys import cache_key

_ETAG_LEN = 34


# Bodies this large are kept gzip-compressed (level 6: ~90% of level 9's ratio at a third of
# the CPU): a hit then sends the stored bytes as they are instead of compressing 10-50 KB of JSON
# again on every request, and Redis holds ~6x less.
GZIP_MIN_BYTES = 1024
_RAW, _GZIP = b"r", b"g"


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A response's strong ETag and its bytes: raw, or gzip-compressed when that was worth it."""

    etag: str
    raw: bytes | None = None
    gzipped: bytes | None = None

    @property
    def body(self) -> bytes:
        """The uncompressed response bytes."""
        if self.raw is not None:
            return self.raw
        return gzip.decompress(self.gzipped or b"")

    def encoded_for(self, accept_gzip: bool) -> tuple[bytes, bool]:
        """The bytes to send and whether they are gzip-encoded."""
        if self.gzipped is not None and accept_gzip:
            return self.gzipped, True
        return self.body, False


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when the client listed gzip (without ``q=0``) in ``Accept-Encoding``."""
    for item in (accept_encoding or "").lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


@dataclass(frozen=True, slots=True)
class CacheAnswer:
    """A ready HTTP answer from the cache: 200 with the body, or 304 without."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def etag_for(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def operation_digest(body: bytes) -> str | None:
    """sha256 of what determines the response, from the raw POST body; None if not cacheable
    (not JSON, a batch, no ``query`` string: e.g. a persisted-query hash alone)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    query = data.get("query")
    name = data.get("operationName")
    if not isinstance(query, str) or not query or not isinstance(name, str | None):
        return None
    digest = hashlib.sha256(query.encode())
    for extra in (name or "", data.get("variables") or {}, data.get("extensions") or {}):
        digest.update(b"\x00")
        digest.update(orjson.dumps(extra, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` uses the weak comparison (RFC 9110 §13.1.2): ``W/`` is ignored."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/")
        if tag == etag:
            return True
    return False


def response_headers(etag: str) -> list[tuple[bytes, bytes]]:
    # private: one principal's view; no-cache: the client must revalidate (a 304 is cheap).
    return [
        (b"etag", etag.encode()),
        (b"cache-control", b"private, no-cache"),
        (b"vary", b"authorization"),
    ]


class ResponseCache:
    """Encoded responses per (site, principal, operation digest)."""

    def __init__(self, cache: Cache, *, ttl: float | None = None) -> None:
        self.cache = cache
        self.ttl = ttl if ttl is not None else cache.config.response_ttl

    @staticmethod
    def key(site_id: str, principal_id: str, digest: str) -> str:
        return cache_key(site_id, principal_id, "response", digest)

    async def lookup(self, site_id: str, principal_id: str, digest: str) -> CachedResponse | None:
        """The cached response, or None (also when the store is unreachable)."""
        try:
            blob = await self.cache.backend.get_blob(self.key(site_id, principal_id, digest))
        except CacheUnavailable:
            return None
        if blob is None or len(blob) < _ETAG_LEN + 1:
            return None
        etag = blob[:_ETAG_LEN].decode()
        kind, payload = blob[_ETAG_LEN : _ETAG_LEN + 1], blob[_ETAG_LEN + 1 :]
        if kind == _GZIP:
            return CachedResponse(etag, gzipped=payload)
        return CachedResponse(etag, raw=payload)

    async def answer(
        self,
        body: bytes,
        site_id: str,
        principal_id: str,
        if_none_match: str | None = None,
        *,
        accept_gzip: bool = False,
    ) -> tuple[str | None, CacheAnswer | None]:
        """Called by ``/graphql`` with the raw body: ``(digest, answer)``.

        ``answer`` is a 200 (cached bytes) or 304 (ETag matched) on a hit, ``None`` on a miss;
        keep ``digest`` to ``store()`` the executed response (``None``: not cacheable).
        With ``accept_gzip`` a large body is sent in its stored gzip form.
        """
        digest = operation_digest(body)
        if digest is None:
            return None, None
        cached = await self.lookup(site_id, principal_id, digest)
        if cached is None:
            return digest, None
        headers = response_headers(cached.etag)
        if etag_matches(if_none_match, cached.etag):
            return digest, CacheAnswer(304, headers, b"")
        payload, gzipped = cached.encoded_for(accept_gzip)
        headers.append((b"content-type", b"application/json"))
        if cached.gzipped is not None:
            headers.append((b"vary", b"accept-encoding"))
        if gzipped:
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(payload)).encode()))
        return digest, CacheAnswer(200, headers, payload)

    async def store(
        self,
        site_id: str,
        principal_id: str,
        digest: str,
        body: bytes,
        *,
        issue_tags: Iterable[str],
        operation_type: str = "query",
        has_errors: bool = False,
        outcome: CacheOutcome | None = None,
    ) -> tuple[CachedResponse, bool]:
        """Store an executed response; returns it with its ETag and whether it was stored.

        ``issue_tags``: ``issue_tag(site, key)`` of every issue the response was built from.
        """
        if (
            operation_type != "query"
            or has_errors
            or (outcome is not None and outcome.served_stale)
        ):
            return CachedResponse(etag_for(body), raw=body), False
        gzipped = gzip.compress(body, 6, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
        cached = CachedResponse(etag_for(body), raw=body, gzipped=gzipped)
        stored = _GZIP + gzipped if gzipped is not None else _RAW + body
        try:
            await self.cache.backend.set_blob(
                self.key(site_id, principal_id, digest),
                cached.etag.encode() + stored,
                ttl=self.ttl,
                tags=sorted(set(issue_tags)),
                index_ttl=self.cache.config.index_ttl,
            )
        except CacheUnavailable:
            return cached, False
        return cached, True


async def send_answer(send: Send, answer: CacheAnswer) -> None:
    """Pure ASGI: send a ``CacheAnswer`` (the endpoint adds nothing else)."""
    await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
    await send({"type": "http.response.body", "body": answer.body})
