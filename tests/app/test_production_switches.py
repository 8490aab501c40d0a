"""GraphiQL and introspection can be switched off for production."""

from __future__ import annotations

from dataclasses import replace

from hub.db import Database
from hub.settings import Settings
from tests.support import Hub


async def test_graphiql_and_introspection_off(settings: Settings, db: Database) -> None:
    # given a hub configured for production
    prod = replace(settings, graphiql=False, introspection=False)
    async with Hub.start(prod, db) as hub:
        # when GraphiQL is requested, then there is none
        page = await hub.client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code in (404, 405)
        # when the schema is introspected, then it is refused
        body = await hub.gql("{ __schema { queryType { name } } }")
        assert body.get("data") is None
        assert "introspection" in body["errors"][0]["message"].lower()
        # and ordinary queries still work
        assert await hub.data("{ me { email } }") == {"me": None}
