"""Input hygiene: no string argument carries a NUL or another control character into the hub.

GraphQL's ``\\u0000`` escape (and ``\\u{0}``) puts a NUL into a string, which PostgreSQL text
cannot hold; other C0 controls break the XML the WMS and ERP connectors send, and a lone
surrogate (``\\uD800``) has no UTF-8 encoding. :data:`connectors.sdk.UNSAFE_TEXT` says which
characters; tab, line feed and carriage return stay legal (notes and comments have lines).

Every string reaches a resolver in one of two ways, and each is checked once, here, for every
field present and future, before anything executes:

- **literals** (``product(sku: "a\\u0000")``, also nested in input objects and lists, in
  directive arguments and in variables' default values): :class:`UnsafeLiteralRule`, a
  validation rule, so the verdict is cached with the document's validation;
- **variables** (any string anywhere in the ``variables`` JSON, at any depth):
  :func:`refuse_unsafe_variables`, which answers before execution starts.

Either way the answer is a GraphQL error with ``extensions.code`` ``INVALID`` and
``extensions.field`` naming where the text was (``orderCreate.input.lines.0.sku`` or
``$input.lines.0.sku``); nothing is executed, so nothing is written. The domain's own text
checks (:func:`hub.domain.validation.check_clean`) refuse the same characters for callers that
do not come through GraphQL.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ArgumentNode,
    ASTValidationRule,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    ListValueNode,
    Node,
    ObjectFieldNode,
    StringValueNode,
    VariableDefinitionNode,
)
from strawberry.types import ExecutionContext

from connectors.sdk import UNSAFE_TEXT

__all__ = ["UnsafeLiteralRule", "refuse_unsafe_variables", "unsafe_error", "unsafe_path"]

MESSAGE = "must not contain NUL or control characters other than tab, line feed and carriage return"


def unsafe_error(where: str, nodes: Any = None) -> GraphQLError:
    """The error for unsafe text at ``where``."""
    return GraphQLError(f"{where} {MESSAGE}", nodes, extensions={"code": "INVALID", "field": where})


def unsafe_path(value: Any, path: str) -> str | None:
    """Where in ``value`` (JSON: dicts, lists, strings, numbers) the first unsafe string is,
    as ``path`` followed by keys and indexes joined by dots; None when there is none. Iterative:
    a deeply nested body cannot exhaust the stack."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if UNSAFE_TEXT.search(item):
                return where
        elif isinstance(item, dict):
            children = [(v, f"{where}.{k}") for k, v in item.items()]
            children += [(k, f"{where}.<key>") for k in item]
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(v, f"{where}.{n}") for n, v in enumerate(item)]))
    return None


class UnsafeLiteralRule(ASTValidationRule):
    """Refuses a string literal with unsafe characters, naming the field, argument and input
    fields it sits in (``field.argument.inputField.index``)."""

    def enter_string_value(
        self, node: StringValueNode, _key: Any, parent: Any, _path: Any, ancestors: Any
    ) -> None:
        if not UNSAFE_TEXT.search(node.value):
            return
        names: list[str] = []
        # The ancestors (without the parent) hold the lists of nodes too.
        chain = [a for a in (*ancestors, parent) if isinstance(a, Node)] + [node]
        for i, ancestor in enumerate(chain[:-1]):
            if isinstance(ancestor, FieldNode):
                names = [ancestor.name.value]  # the innermost field
            elif isinstance(ancestor, ArgumentNode | ObjectFieldNode):
                names.append(ancestor.name.value)
            elif isinstance(ancestor, VariableDefinitionNode):
                names = [f"${ancestor.variable.name.value}"]
            elif isinstance(ancestor, ListValueNode):
                names.append(str(next(n for n, v in enumerate(ancestor.values) if v is chain[i + 1])))
        self.report_error(unsafe_error(".".join(names) or "a string", node))


def refuse_unsafe_variables(ec: ExecutionContext) -> None:
    """Answer an operation whose variables hold unsafe text with an ``INVALID`` error naming
    the variable path, so that it is not executed (run by :class:`hub.schema.build.HubRequest`
    before execution)."""
    where = unsafe_path(ec.variables, "$")
    if where:
        where = "$" + where[2:]  # "$.input.note" -> "$input.note"
        ec.result = ExecutionResult(data=None, errors=[unsafe_error(where)])
