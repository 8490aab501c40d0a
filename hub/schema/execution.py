"""A faster executor for plain fields and plain object subtrees.

graphql-core builds a ``ResolveInfo``, collects arguments and walks ``complete_value`` for
every field, even one that only reads an attribute and returns a string — and most fields of a
catalog page or an order are exactly that. This execution context adds two fast paths:

* a *plain leaf* (strawberry's default resolver, no permission or extension, a scalar or enum
  type) is read with ``getattr`` and serialized directly;
* a *plain object* — one whose selected fields are all plain leaves, ``__typename`` or plain
  objects and lists of them, with no directives and no ``@defer`` — is completed by a plan
  compiled once per selection and cached across requests.

Anything unusual — a null in a non-null field, a value the scalar refuses — abandons the fast
path for that value and runs graphql-core's own code, so results, errors and their paths are
exactly graphql-core's. Resolvers with code (arguments, async, permissions) always run the
normal way.

**Fenced.** This class overrides graphql-core's ``ExecutionContext.execute_field`` and
``complete_value`` and reads its field details (``defer_usage``, ``fragment_variable_values``),
which graphql-core documents as internal and changes between minor releases, and it reads
strawberry's field definitions. So: graphql-core and strawberry are pinned to the minor
versions this was tested with (``pyproject.toml``); ``HUB_FAST_EXECUTION=false`` turns it off
(strawberry's own execution context is used instead); strawberry's public helpers are used
where they exist (``is_default_resolver``, ``StrawberryResolver.wrapped_func``/``arguments``);
and ``tests/app/test_fast_execution.py`` runs a set of the schema tests' queries through both
executors and asserts identical JSON and that the fast path was taken (:data:`STATS`). See
docs/architecture.md, "The fast GraphQL execution path", before upgrading either library.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInputType,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
    InlineFragmentNode,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined
from strawberry.resolvers import is_default_resolver
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = ["STATS", "FastExecutionContext", "FastPathStats"]

_LEAF, _OBJECT, _LIST_LEAF, _LIST_OBJECT, _TYPENAME = range(5)
# Keyed by id(field definition); the definition is kept in the value so that its id cannot be
# reused by another object while the entry exists.
_LEAF_PLANS: dict[int, tuple[GraphQLField, tuple[str, GraphQLLeafType, bool] | None]] = {}
_OBJECT_PLANS: OrderedDict[tuple[Any, ...], tuple[tuple[FieldNode, ...], Any]] = OrderedDict()
_MAX_PLANS = 4096


class FastPathStats:
    """How often the fast path answered (process-wide, never reset): plain leaves read
    directly and plain objects completed from a plan. Tests read it to prove the path was taken."""

    __slots__ = ("leaves", "objects")

    def __init__(self) -> None:
        self.leaves = 0
        self.objects = 0


STATS = FastPathStats()


class _Fallback(Exception):
    """The fast path met something only graphql-core's code handles correctly."""


def _python_name(field_def: GraphQLField) -> str | None:
    resolve = field_def.resolve
    if resolve is None or not is_default_resolver(resolve):
        return None
    definition = (field_def.extensions or {}).get("strawberry-definition")
    if getattr(definition, "permission_classes", None) or getattr(definition, "extensions", None):
        return None  # their checks must run
    return getattr(definition, "python_name", None)


def _call_plan(field_def: GraphQLField) -> tuple[Any, dict[str, str]] | None:
    """(function, GraphQL→Python argument names) for a simple synchronous resolver method
    that takes only scalar arguments (no info, no root, no permissions or extensions)."""
    definition = (field_def.extensions or {}).get("strawberry-definition")
    resolver = getattr(definition, "base_resolver", None)
    if resolver is None or resolver.is_async or getattr(definition, "extensions", None):
        return None
    if getattr(definition, "permission_classes", None):
        return None
    fn = resolver.wrapped_func
    if isinstance(fn, (staticmethod, classmethod)) or not callable(fn):
        return None
    params = list(inspect.signature(fn).parameters)
    if not params or params[0] != "self":
        return None
    arg_names = {a.graphql_name or a.python_name: a.python_name for a in resolver.arguments}
    if set(arg_names.values()) != set(params[1:]):
        return None  # info, root or something unusual
    if not all(isinstance(_unwrap(a.type)[0], GraphQLScalarType) for a in field_def.args.values()):
        return None
    return fn, arg_names


def _unwrap(t: GraphQLOutputType | GraphQLInputType) -> tuple[Any, bool]:
    if isinstance(t, GraphQLNonNull):
        return t.of_type, True
    return t, False


def _leaf_plan(field_def: GraphQLField) -> tuple[str, GraphQLLeafType, bool] | None:
    name = _python_name(field_def)
    if name is None:
        return None
    named, non_null = _unwrap(field_def.type)
    if not is_leaf_type(named):
        return None
    return name, named, non_null


def _coerce(leaf: GraphQLLeafType, value: Any) -> Any:
    kind = type(value)
    # What graphql-core's serializers return unchanged: skip the call for the common leaves.
    if kind is str and (leaf is GraphQLString or leaf is GraphQLID):
        return value
    if kind is bool and leaf is GraphQLBoolean:
        return value
    if kind is int and leaf is GraphQLInt and -(2**31) <= value < 2**31:
        return value
    try:
        coerced = leaf.coerce_output_value(value)
    except Exception:  # noqa: BLE001 - graphql-core reports it properly
        raise _Fallback from None
    if coerced is None or coerced is Undefined:
        raise _Fallback
    return coerced


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # Strawberry always passes a manager; it wraps resolvers only if it has middleware.
        self._plain = manager is None or not manager.middlewares
        self._args: dict[int, dict[str, Any]] = {}

    def _call(self, call: tuple[Any, dict[str, str], FieldNode, GraphQLField], source: Any) -> Any:
        fn, names, node, field_def = call
        args = self._args.get(id(node))
        if args is None:
            raw = get_argument_values(field_def, node, self.variable_values)
            args = self._args[id(node)] = {names[k]: v for k, v in raw.items()}
        return fn(source, **args)

    def _run(self, plan: tuple[Any, ...], source: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, name, call, kind, payload, non_null, item_non_null in plan:
            if kind == _TYPENAME:
                out[key] = payload
                continue
            if call is None:
                value = getattr(source, name)
            else:
                try:
                    value = self._call(call, source)
                except Exception:  # noqa: BLE001 - the normal path reports it on the right field
                    raise _Fallback from None
            if value is None:
                if non_null:
                    raise _Fallback
                out[key] = None
            elif kind == _LEAF:
                out[key] = _coerce(payload, value)
            elif kind == _OBJECT:
                out[key] = self._run(payload, value)
            else:
                items: list[Any] = []
                for item in value:
                    if item is None:
                        if item_non_null:
                            raise _Fallback
                        items.append(None)
                    elif kind == _LIST_LEAF:
                        items.append(_coerce(payload, item))
                    else:
                        items.append(self._run(payload, item))
                out[key] = items
        return out

    # -- plain leaves --------------------------------------------------------------------
    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        if self._plain:
            field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            if field_def is not None:
                hit = _LEAF_PLANS.get(id(field_def))
                if hit is None or hit[0] is not field_def:
                    hit = _LEAF_PLANS[id(field_def)] = (field_def, _leaf_plan(field_def))
                plan = hit[1]
                if plan is not None:
                    name, leaf, non_null = plan
                    value = getattr(source, name, Undefined)
                    if value is None and not non_null:
                        STATS.leaves += 1
                        return None
                    if value is not None and value is not Undefined:
                        try:
                            coerced = _coerce(leaf, value)
                        except _Fallback:
                            pass
                        else:
                            STATS.leaves += 1
                            return coerced
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    # -- plain objects -------------------------------------------------------------------
    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if self._plain and result is not None and not isinstance(result, Exception):
            named, _ = _unwrap(return_type)
            if isinstance(named, GraphQLObjectType) and named.is_type_of is None:
                plan = self._object_plan(named, field_details_list)
                if plan is not None:
                    try:
                        completed = self._run(plan, result)
                    except _Fallback:
                        pass
                    else:
                        STATS.objects += 1
                        return completed
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _fragment_directives(self, selection_set: Any) -> bool:
        """True when a fragment in this selection set (not below its fields) has directives."""
        if selection_set is None:
            return False
        for sel in selection_set.selections:
            if isinstance(sel, InlineFragmentNode):
                if sel.directives or self._fragment_directives(sel.selection_set):
                    return True
            elif isinstance(sel, FragmentSpreadNode):
                if sel.directives:
                    return True
                fragment = self.fragments.get(sel.name.value)
                definition: Any = getattr(fragment, "definition", fragment)
                if definition is None or definition.directives:
                    return True
                if self._fragment_directives(definition.selection_set):
                    return True
        return False

    def _object_plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> Any:
        nodes = tuple(fd.node for fd in field_details_list)
        key = (object_type.name, *map(id, nodes))
        hit = _OBJECT_PLANS.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], nodes, strict=True)):
            return hit[1]
        plan = self._build_object_plan(object_type, field_details_list)
        _OBJECT_PLANS[key] = (nodes, plan)
        if len(_OBJECT_PLANS) > _MAX_PLANS:
            _OBJECT_PLANS.popitem(last=False)
        return plan

    def _build_object_plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> Any:
        if object_type.is_type_of is not None:
            return None
        for fd in field_details_list:
            if fd.defer_usage is not None or fd.fragment_variable_values is not None:
                return None
        if any(self._fragment_directives(fd.node.selection_set) for fd in field_details_list):
            return None  # which fields are selected depends on this request's variables
        grouped, new_defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        plan: list[tuple[Any, ...]] = []
        for response_key, sub_details in grouped.items():
            node = sub_details[0].node
            if any(fd.node.directives or fd.defer_usage is not None for fd in sub_details):
                return None
            if node.name.value == "__typename":
                plan.append((response_key, None, None, _TYPENAME, object_type.name, True, False))
                continue
            field_def = object_type.fields.get(node.name.value)
            if field_def is None:
                return None
            name = _python_name(field_def)
            call = None
            if name is None or node.arguments:
                simple = _call_plan(field_def)
                if simple is None:
                    return None
                call = (simple[0], simple[1], node, field_def)
            named, non_null = _unwrap(field_def.type)
            is_list, item_non_null = isinstance(named, GraphQLList), False
            if is_list:
                named, item_non_null = _unwrap(named.of_type)
            payload: Any
            if is_leaf_type(named):
                kind, payload = (_LIST_LEAF if is_list else _LEAF), named
            elif isinstance(named, GraphQLObjectType):
                payload = self._build_object_plan(named, sub_details)
                if payload is None:
                    return None
                kind = _LIST_OBJECT if is_list else _OBJECT
            else:
                return None  # lists of lists, interfaces, unions: graphql-core's way
            plan.append((response_key, name, call, kind, payload, non_null, item_non_null))
        return tuple(plan)
