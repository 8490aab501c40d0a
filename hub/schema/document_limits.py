"""Cheap refusal of oversized GraphQL documents, before they are parsed or validated.

Parsing and validating a document costs time linear in its size (a 600 KB document of 40,000
repeated fields took seconds and stalled the event loop for every other client). So before
parsing, :func:`parse_within_limits` checks the ``query`` string's length in characters, then parses
with graphql-core's lexical-token and comment bounds (``max_lexical_tokens``/``max_comments``,
what strawberry's ``MaxTokensLimiter`` sets through ``max_tokens``), and caches parsed documents
like strawberry's ``ParserCache``, which it replaces. The bounds depend on the caller, known from
the request's context (a token checked in ``HubGraphQL.get_context``): an anonymous caller — no
``Authorization`` header, or one whose token is not valid — only needs ``tokenCreate`` and ``me``
and gets much smaller bounds.

A refused document is answered with HTTP 200 and one GraphQL error, code ``DOCUMENT_TOO_LARGE``,
whose message names the limit, like the other limits on documents (depth, aliases): nothing is
validated or executed.
"""

from __future__ import annotations

from functools import lru_cache

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from strawberry.types import ExecutionContext

from hub.settings import Settings

__all__ = ["DOCUMENT_TOO_LARGE", "MAX_OVERLAP_PAIRS", "overlap_pairs", "parse_within_limits"]

DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"
# Pairs of fields with the same response name (a field's alias, else its name) in one selection
# set, counting what fragments bring in and merging nested selection sets as validation does.
# graphql-core's OverlappingFieldsCanBeMergedRule compares each such pair, subtree against subtree:
# 200 copies of `me { customer { orders { … } } }` (1,400 tokens, 19,900 pairs) took 2 s to
# validate, and 40,000 copies of a field longer than a client waits. Real documents repeat a field
# a few times (Relay-style fragments each selecting `id`: 10 fragments make 45 pairs).
MAX_OVERLAP_PAIRS = 1_000


@lru_cache(maxsize=256)
def _parse(query: str, max_tokens: int) -> tuple[DocumentNode, int]:
    """The document and its :func:`overlap_pairs`. Keyed by the bound too: a
    document parsed for a signed-in caller is not handed to an anonymous one without its own
    (smaller) bound applying. Errors are not cached."""
    document = parse(query, max_lexical_tokens=max_tokens, max_comments=max_tokens)
    return document, overlap_pairs(document, MAX_OVERLAP_PAIRS)


def _too_large(message: str, limit: int) -> GraphQLError:
    return GraphQLError(message, extensions={"code": DOCUMENT_TOO_LARGE, "limit": limit})


def overlap_pairs(document: DocumentNode, budget: int) -> int:
    """How many pairs of same-named fields validation will compare (see
    :data:`MAX_OVERLAP_PAIRS`), counting until the sum passes ``budget``: a walk of at most
    ``budget`` steps (fragments spread inside fragments are walked again at each spread; each
    step counts), so it stays linear however the document is built."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    groups: list[list[SelectionSetNode]] = [
        [d.selection_set]
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    pairs = steps = 0
    while groups:
        group = groups.pop()
        by_name: dict[str, list[SelectionSetNode]] = {}
        counts: dict[str, int] = {}
        spread: set[str] = set()
        todo = [selection for s in group for selection in s.selections]
        while todo:
            steps += 1
            node = todo.pop()
            if isinstance(node, FieldNode):
                name = (node.alias or node.name).value
                seen = counts.get(name, 0)
                pairs += seen  # this field pairs with each one seen before it
                counts[name] = seen + 1
                if node.selection_set is not None:
                    by_name.setdefault(name, []).append(node.selection_set)
            elif isinstance(node, InlineFragmentNode):
                todo.extend(node.selection_set.selections)
            elif isinstance(node, FragmentSpreadNode):
                fragment = fragments.get(node.name.value)
                if fragment is not None and node.name.value not in spread:
                    spread.add(node.name.value)
                    todo.extend(fragment.selection_set.selections)
            if pairs > budget or steps > budget * 10:
                return max(pairs, budget + 1)
        groups.extend(by_name.values())
    return pairs


def parse_within_limits(ec: ExecutionContext, settings: Settings) -> None:
    """Refuse ``ec``'s document when it is over the caller's character or token bound, else
    parse it (cached) into ``ec.graphql_document``; run by :class:`hub.schema.build.HubRequest`
    in place of strawberry's parsing.

    Raises:
        GraphQLError: ``DOCUMENT_TOO_LARGE`` naming the limit, or the document's syntax error.
    """
    query = ec.query or ""
    anonymous = getattr(ec.context, "principal", None) is None
    s = settings
    who = "anonymous requests" if anonymous else "signed-in requests"
    max_chars = s.anonymous_max_document_chars if anonymous else s.max_document_chars
    max_tokens = s.anonymous_max_tokens if anonymous else s.max_tokens
    if len(query) > max_chars:
        raise _too_large(
            f"The document is longer than {max_chars} characters, the limit for {who}", max_chars
        )
    try:
        document, pairs = _parse(query, max_tokens)
    except GraphQLError as e:
        if "Parsing aborted" not in e.message:
            raise  # a syntax error, as graphql-core words it
        raise _too_large(
            f"The document has more than {max_tokens} tokens or comments, the limit for {who}",
            max_tokens,
        ) from None
    if pairs > MAX_OVERLAP_PAIRS:
        raise _too_large(
            "The document selects the same fields too many times over (more than "
            f"{MAX_OVERLAP_PAIRS} pairs of fields with one name in one selection set)",
            MAX_OVERLAP_PAIRS,
        )
    ec.graphql_document = document
