"""The schema as SDL, the committed ``schema.graphql`` artefact."""

from __future__ import annotations

from hub.schema.build import build_schema
from hub.settings import Settings


def schema_sdl() -> str:
    return build_schema(Settings()).as_str() + "\n"
