"""Gateway administration: how JIRA sites deliver their changes (scope ``admin``)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.auth.scopes import Scope
from gateway.context import Context
from gateway.errors import InvalidInput
from gateway.webhook_registration import Registrar, callback_url
from gateway.webhooks import WebhookSecrets
from schema.events import EventSource, event_source


def _registrar(context: Context) -> Registrar:
    state = context.state
    return Registrar(state.sessionmaker, WebhookSecrets(state.sessionmaker, state.auth.vault))


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        description="Make a JIRA site push its issue changes to this gateway, so `issueChanged` "
        "subscriptions see them: registers the gateway's webhook with a new secret (Server/DC: "
        "an admin webhook, needs a JIRA administrator; Cloud: dynamic webhooks, refreshed "
        "automatically before their 30-day expiry), replacing the previous one. With "
        "`polling: true` no webhook is registered and the gateway polls the site with your "
        "account instead (for sites that cannot reach the gateway). Needs the ADMIN scope."
    )
    async def register_webhooks(
        self,
        info: Info[Context, None],
        site: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="The site (default: your default site)."),
        ] = None,
        polling: Annotated[
            bool, strawberry.argument(description="Poll instead of registering a webhook.")
        ] = False,
        callback_base_url: Annotated[
            str | None,
            strawberry.argument(
                description="The gateway's public base URL as JIRA reaches it (default: the "
                "URL of this request)."
            ),
        ] = None,
    ) -> EventSource:
        context = info.context
        call = await context.site_call(site, Scope.ADMIN)
        registrar = _registrar(context)
        if polling:
            return event_source(await registrar.use_polling(call.site_id, call.account_id))
        base = callback_base_url or str(context.request.base_url)
        if not base.startswith(("http://", "https://")):
            raise InvalidInput("callbackBaseUrl must be an http(s) URL.", field="callbackBaseUrl")
        view = await registrar.register(
            call.client,
            call.caller,
            site_id=call.site_id,
            url=callback_url(base, call.site_id),
            account_id=call.account_id,
        )
        return event_source(view)


__all__ = ["AdminMutation"]
