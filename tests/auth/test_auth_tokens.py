"""Gateway access tokens: every forged, mis-addressed or stale token is refused with its type."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from pydantic import SecretStr

from gateway.auth.errors import InsufficientScope, ScopeError, TokenExpired, TokenInvalid
from gateway.auth.scopes import DEFAULT_SCOPES, Scope, narrow_scopes, require_scope
from gateway.auth.settings import AuthConfig
from gateway.auth.tokens import REQUIRED_CLAIMS, TokenService
from gateway.auth.vault import generate_key

SECRET = "s" * 40
OTHER_SECRET = "o" * 40


def make_config(**overrides: Any) -> AuthConfig:
    values: dict[str, Any] = {
        "jwt_secret": SecretStr(SECRET),
        "vault_keys": [SecretStr(generate_key())],
        "jwt_issuer": "jgw-test",
        "jwt_audience": "jgw-clients",
    }
    values.update(overrides)
    return AuthConfig(**values)


@pytest.fixture
def service() -> TokenService:
    return TokenService(make_config())


def valid_payload(**changes: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    payload: dict[str, Any] = {
        "iss": "jgw-test",
        "aud": "jgw-clients",
        "sub": "principal-1",
        "iat": now,
        "exp": now + 300,
        "jti": "j1",
        "typ": "access",
        "sid": "family-1",
        "scp": ["read"],
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_auth_tokens_round_trip(service: TokenService) -> None:
    issued = service.issue_access_token("principal-1", "family-1", DEFAULT_SCOPES)
    claims = service.verify_access_token(issued.token)
    assert claims.principal_id == "principal-1"
    assert claims.session_id == "family-1"
    assert claims.scopes == DEFAULT_SCOPES
    assert claims.expires_at - claims.issued_at == timedelta(minutes=15)
    assert claims.expires_at == issued.expires_at
    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"
    assert issued.token not in repr(issued)


def test_auth_tokens_handmade_valid_token_is_accepted(service: TokenService) -> None:
    # The fixture of the rejection tests below is itself a valid token: each case changes one thing.
    token = jwt.encode(valid_payload(), SECRET, algorithm="HS256")
    assert service.verify_access_token(token).scopes == {Scope.READ}


def test_auth_tokens_alg_none_is_refused(service: TokenService) -> None:
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(valid_payload())}."
    with pytest.raises(TokenInvalid):
        service.verify_access_token(unsigned)
    # The same with PyJWT's own encoder for "none".
    with pytest.raises(TokenInvalid):
        service.verify_access_token(jwt.encode(valid_payload(), None, algorithm="none"))


def test_auth_tokens_other_key_and_other_algorithm_are_refused(service: TokenService) -> None:
    with pytest.raises(TokenInvalid):
        service.verify_access_token(jwt.encode(valid_payload(), OTHER_SECRET, algorithm="HS256"))
    # HS512 with the right secret: the algorithm is pinned, so still refused.
    with pytest.raises(TokenInvalid):
        service.verify_access_token(jwt.encode(valid_payload(), SECRET * 2, algorithm="HS512"))


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "someone-else"},
        {"iss": "evil-issuer"},
        {"typ": "refresh"},
        {"typ": "oauth_state"},
        {"scp": ["read", "root"]},
        {"scp": []},
        {"scp": "read"},
        {"sid": ""},
    ],
    ids=lambda c: next(iter(c)) + "=" + repr(next(iter(c.values()))),
)
def test_auth_tokens_wrong_claims_are_refused(
    service: TokenService, changes: dict[str, Any]
) -> None:
    token = jwt.encode(valid_payload(**changes), SECRET, algorithm="HS256")
    with pytest.raises(TokenInvalid) as caught:
        service.verify_access_token(token)
    assert caught.value.code == "TOKEN_INVALID"
    assert caught.value.status == 401


@pytest.mark.parametrize("missing", [*REQUIRED_CLAIMS, "sid", "scp"])
def test_auth_tokens_missing_claims_are_refused(service: TokenService, missing: str) -> None:
    token = jwt.encode(valid_payload(**{missing: None}), SECRET, algorithm="HS256")
    with pytest.raises(TokenInvalid):
        service.verify_access_token(token)


def test_auth_tokens_expired_is_refused_as_expired() -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    past = TokenService(make_config(), clock=lambda: an_hour_ago)
    issued = past.issue_access_token("principal-1", "family-1", {Scope.READ})
    with pytest.raises(TokenExpired) as caught:
        TokenService(make_config()).verify_access_token(issued.token)
    assert caught.value.code == "TOKEN_EXPIRED"
    assert "expired" in caught.value.message


def test_auth_tokens_expired_with_bad_signature_is_invalid_not_expired(
    service: TokenService,
) -> None:
    token = jwt.encode(valid_payload(exp=1_000_000), OTHER_SECRET, algorithm="HS256")
    with pytest.raises(TokenInvalid):
        service.verify_access_token(token)


def test_auth_tokens_garbage_is_invalid(service: TokenService) -> None:
    for garbage in ("", "abc", "a.b.c", "Bearer x.y.z"):
        with pytest.raises(TokenInvalid):
            service.verify_access_token(garbage)


def test_auth_tokens_ttl_never_exceeds_config() -> None:
    service = TokenService(make_config(access_ttl=timedelta(minutes=5)))
    longer = service.issue_access_token("p", "f", {Scope.READ}, ttl=timedelta(hours=1))
    shorter = service.issue_access_token("p", "f", {Scope.READ}, ttl=timedelta(minutes=1))
    assert longer.claims.expires_at - longer.claims.issued_at == timedelta(minutes=5)
    assert shorter.claims.expires_at - shorter.claims.issued_at == timedelta(minutes=1)
    with pytest.raises(ValueError, match="15 minutes"):
        make_config(access_ttl=timedelta(minutes=16))


def test_auth_tokens_purpose_tokens_are_not_access_tokens(service: TokenService) -> None:
    state = service.issue_purpose_token(
        "oauth_state", "principal-1", ttl=timedelta(minutes=10), extra={"site": "a"}
    )
    assert service.verify_purpose_token(state, "oauth_state")["site"] == "a"
    with pytest.raises(TokenInvalid):
        service.verify_access_token(state)
    with pytest.raises(TokenInvalid):
        service.verify_purpose_token(state, "export")
    access = service.issue_access_token("principal-1", "family-1", {Scope.READ}).token
    with pytest.raises(TokenInvalid):
        service.verify_purpose_token(access, "oauth_state")
    with pytest.raises(ValueError, match="override"):
        service.issue_purpose_token("export", "p", ttl=timedelta(minutes=1), extra={"typ": "x"})


def test_auth_tokens_short_secret_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="JGW_JWT_SECRET"):
        make_config(jwt_secret=SecretStr("short"))


def test_auth_scopes_can_only_narrow() -> None:
    held = {Scope.READ, Scope.WRITE}
    assert narrow_scopes(held, ["read"]) == {Scope.READ}
    assert narrow_scopes(held, None) == held
    with pytest.raises(ScopeError, match="export"):
        narrow_scopes(held, ["read", "export"])
    with pytest.raises(ScopeError, match="Unknown scope"):
        narrow_scopes(held, ["sudo"])
    with pytest.raises(ScopeError):
        narrow_scopes(held, [])
    require_scope(held, Scope.WRITE)
    with pytest.raises(InsufficientScope) as caught:
        require_scope(held, Scope.ADMIN)
    assert caught.value.status == 403
    assert caught.value.code == "INSUFFICIENT_SCOPE"


def test_auth_tokens_narrowed_token_carries_only_its_scopes(service: TokenService) -> None:
    full = service.verify_access_token(service.issue_access_token("p", "f", DEFAULT_SCOPES).token)
    narrow = narrow_scopes(full.scopes, ["read"])
    claims = service.verify_access_token(service.issue_access_token("p", "f", narrow).token)
    assert claims.scopes == {Scope.READ}
    with pytest.raises(InsufficientScope):
        require_scope(claims.scopes, Scope.EXPORT)
