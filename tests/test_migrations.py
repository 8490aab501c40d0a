"""Models and migrations agree; the committed schema.graphql matches the code."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.db import Database
from hub.domain.models import Base
from hub.schema.export import schema_sdl

ROOT = Path(__file__).resolve().parents[1]


async def test_migrations_match_the_models(db: Database) -> None:
    # given a database built by the migrations (the fixture runs `upgrade head`)
    def diff(sync_conn):  # type: ignore[no-untyped-def]
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)

    # when it is compared with the models
    async with db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    # then there is nothing a new migration would have to add
    assert differences == []


def test_committed_schema_graphql_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == schema_sdl(), "schema.graphql is stale: run `hub export-schema`"


def test_every_type_and_field_is_described() -> None:
    from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, GraphQLScalarType

    from hub.app import build_schema
    from hub.settings import Settings

    schema = build_schema(Settings())._schema
    missing = []
    for name, t in schema.type_map.items():
        if name.startswith("__") or isinstance(t, GraphQLScalarType):
            continue
        if not t.description:
            missing.append(name)
        if isinstance(t, GraphQLObjectType | GraphQLInputObjectType):
            for field_name, field in t.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
        if isinstance(t, GraphQLEnumType):
            continue
    assert missing == []
