"""What an operation costs, estimated from its document and variables before anything runs.

The hub refuses an operation whose estimate is over a budget (:data:`MAX_QUERY_COST`, setting
``HUB_MAX_QUERY_COST``) with a GraphQL error, code ``QUERY_TOO_COSTLY``, before any resolver
runs. The depth and alias limits (hub/schema/build.py) bound the shape of a document; this
bounds how much work its lists multiply into: ``me { customer { orders { edges { node {
customer { orders … } } } } } }`` is ten levels deep but asks for 20 × 20 orders per alias.

How an operation is counted (docs/security.md has a worked example):

- every field costs 1 (``__typename`` too; ``__schema`` and ``__type`` cost 1 whatever they
  select: introspection is answered from memory);
- a field with a ``first`` argument is a page: its list (a connection's ``edges``, or the field
  itself when it returns a list) costs its subtree × ``first``, the rest of the connection
  (``pageInfo``, ``totalCount``) once. ``first`` is read from the literal, the variable (or
  the variable's default) or the argument's schema default; absent or null it is
  :data:`DEFAULT_FIRST`, and it counts at most :data:`~hub.domain.pagination.MAX_PAGE` (a
  larger one is refused by the field before it reads anything);
- any other list (an order's ``lines``, ``timeline``, ``approval.steps``, ``appliedRules``)
  costs its subtree × :data:`LIST_MULTIPLIER`;
- fragments (named and inline) count where they are spread; ``@skip``/``@include`` are not
  evaluated (both branches count).

The module is pure: :func:`compile_cost` turns (schema, document, operation name) into a
:class:`CostPlan`, whose :meth:`~CostPlan.evaluate` takes the variables. A plan depends only on
the document, so callers may keep it for the next request with the same text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
)
from graphql.pyutils import Undefined

from hub.domain.pagination import DEFAULT_PAGE, MAX_PAGE

__all__ = [
    "DEFAULT_FIRST",
    "LIST_MULTIPLIER",
    "MAX_QUERY_COST",
    "CostPlan",
    "compile_cost",
    "operation_cost",
]

MAX_QUERY_COST = 20_000
"""The default budget. The heaviest query the hub's own clients and tests send, an order list of
100 orders with their lines, customer and totals, costs about 7,000; a catalog page of 100 products
with prices and stock about 2,400; the attack of issue 9 (30 aliases of
``me.customer.orders…node.customer.orders`` at the default page size) 38,520."""
DEFAULT_FIRST = DEFAULT_PAGE
"""The page size counted when ``first`` is absent or null: every connection's default."""
LIST_MULTIPLIER = 10
"""What a plain list (no ``first``) multiplies its subtree by: about an order's lines, more than
its timeline or approval steps usually hold. These lists are read with their parent (no
statement per item), so the figure bounds the answer's size, not the database's work."""

_INTROSPECTION = frozenset({"__schema", "__type"})


@dataclass(frozen=True, slots=True)
class _Var:
    """A page size taken from a variable: its default in the operation, else the argument's."""

    name: str
    fallback: int


_Multiplier = int | _Var


@dataclass(frozen=True, slots=True)
class CostPlan:
    """A cost as a sum: ``constant`` + Σ multiplier × sub-plan (multipliers that depend on
    variables stay unevaluated until :meth:`evaluate`)."""

    constant: int
    terms: tuple[tuple[_Multiplier, CostPlan], ...] = ()

    def evaluate(self, variables: Mapping[str, Any] | None = None) -> int:
        """The cost for these variable values (the request's ``variables``)."""
        values = variables or {}
        total = self.constant
        for multiplier, plan in self.terms:
            if isinstance(multiplier, _Var):
                n = _page(values[multiplier.name]) if multiplier.name in values else multiplier.fallback
            else:
                n = multiplier
            if n:
                total += n * plan.evaluate(values)
        return total


def _page(value: Any) -> int:
    """The rows a ``first`` of ``value`` reads: null means the default; it is clamped to
    0..MAX_PAGE; anything not a whole number is refused by coercion before it runs (counted as
    the default)."""
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        return DEFAULT_FIRST
    return min(max(value, 0), MAX_PAGE)


class _Builder:
    """Accumulates a selection set's plan, folding constant products as it goes."""

    __slots__ = ("constant", "terms")

    def __init__(self) -> None:
        self.constant = 0
        self.terms: list[tuple[_Multiplier, CostPlan]] = []

    def add(self, plan: CostPlan, multiplier: _Multiplier = 1) -> None:
        if isinstance(multiplier, int):
            self.constant += multiplier * plan.constant
            self.terms.extend((m, _scale(p, multiplier)) for m, p in plan.terms)
        else:
            self.terms.append((multiplier, plan))

    def plan(self) -> CostPlan:
        return CostPlan(self.constant, tuple(self.terms))


def _scale(plan: CostPlan, k: int) -> CostPlan:
    """``plan`` × ``k``: k × (c + Σ m·p) = k·c + Σ m·(k × p)."""
    if k == 1:
        return plan
    return CostPlan(plan.constant * k, tuple((m, _scale(p, k)) for m, p in plan.terms))


def _unwrap(t: GraphQLOutputType) -> tuple[Any, bool]:
    """(named type, is a list) of a field's type."""
    is_list = False
    while isinstance(t, GraphQLNonNull | GraphQLList):
        if isinstance(t, GraphQLList):
            is_list = True
        t = t.of_type
    return t, is_list


class _Compiler:
    def __init__(
        self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], op: OperationDefinitionNode
    ):
        self.schema = schema
        self.fragments = fragments
        self.defaults: dict[str, Any] = {}
        for d in op.variable_definitions or ():
            self.defaults[d.variable.name.value] = d.default_value

    def selection(
        self, parent: Any, node: SelectionSetNode | None, page: _Multiplier | None, seen: tuple[str, ...]
    ) -> CostPlan:
        """The plan of ``node`` on type ``parent``; ``page`` is the page size of the field that
        owns it when that field is a connection (its list children take it)."""
        out = _Builder()
        if node is None:
            return out.plan()
        for sel in node.selections:
            if isinstance(sel, FieldNode):
                self._field(out, parent, sel, page, seen)
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                t = self.schema.get_type(cond.name.value) if cond is not None else parent
                out.add(self.selection(t, sel.selection_set, page, seen))
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # validation refuses both; stay total
                    continue
                t = self.schema.get_type(fragment.type_condition.name.value)
                out.add(self.selection(t, fragment.selection_set, page, (*seen, name)))
        return out.plan()

    def _field(
        self, out: _Builder, parent: Any, node: FieldNode, page: _Multiplier | None, seen: tuple[str, ...]
    ) -> None:
        name = node.name.value
        out.constant += 1
        if name in _INTROSPECTION or name == "__typename":
            return
        definition: GraphQLField | None = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
        if definition is None:  # validation refuses unknown fields; stay total
            return
        named, is_list = _unwrap(definition.type)
        own_page = self._first(node, definition)
        if own_page is not None:
            if is_list:  # a list field with `first`: the page is the field itself
                out.add(self.selection(named, node.selection_set, None, seen), own_page)
            else:  # a connection: its list children (edges) take the page size
                out.add(self.selection(named, node.selection_set, own_page, seen))
            return
        children = self.selection(named, node.selection_set, None, seen)
        if is_list:
            out.add(children, page if page is not None else LIST_MULTIPLIER)
        else:
            out.add(children)

    def _first(self, node: FieldNode, definition: GraphQLField) -> _Multiplier | None:
        """The page size of a field with a ``first`` argument (None for other fields)."""
        arg = definition.args.get("first")
        if arg is None:
            return None
        schema_default = arg.default_value
        fallback = _page(None if schema_default is Undefined else schema_default)
        given = next((a.value for a in node.arguments or () if a.name.value == "first"), None)
        if given is None:
            return fallback
        if isinstance(given, IntValueNode):
            return _page(int(given.value))
        if isinstance(given, NullValueNode):
            return DEFAULT_FIRST
        if isinstance(given, VariableNode):
            var = given.name.value
            default = self.defaults.get(var)
            if isinstance(default, IntValueNode):
                fallback = _page(int(default.value))
            elif isinstance(default, NullValueNode):
                fallback = DEFAULT_FIRST
            return _Var(var, fallback)
        return fallback  # any other literal is refused by validation


def compile_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None = None
) -> CostPlan:
    """The cost plan of the operation ``operation_name`` of ``document`` (the only one when
    None). An operation that cannot be found costs 0: execution answers that error itself."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    operations: list[OperationDefinitionNode] = []
    for d in document.definitions:
        if isinstance(d, FragmentDefinitionNode):
            fragments[d.name.value] = d
        elif isinstance(d, OperationDefinitionNode):
            operations.append(d)
    if operation_name is None:
        op = operations[0] if len(operations) == 1 else None
    else:
        op = next((o for o in operations if o.name is not None and o.name.value == operation_name), None)
    if op is None:
        return CostPlan(0)
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[op.operation]
    return _Compiler(schema, fragments, op).selection(root, op.selection_set, None, ())


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> int:
    """The estimated cost of an operation (see the module's docstring for how it is counted)."""
    return compile_cost(schema, document, operation_name).evaluate(variables)
