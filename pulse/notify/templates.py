"""Tenant-written notification templates (webhook bodies, email subjects and bodies), rendered with Jinja2.

A tenant's template is hostile input that runs inside the notify worker, so it runs in an
`ImmutableSandboxedEnvironment` (no `_`-attributes, no mutating methods) with further limits, each
because the sandbox alone does not stop a template from eating the worker's memory or CPU:

- source at most `MAX_SOURCE` characters, and every loop nests at most `MAX_LOOP_DEPTH` deep (checked on
  the syntax tree at save time): the amount of work a template can describe is bounded by what it says;
- no macros, call blocks, recursive loops, block assignments, filter blocks, includes or imports:
  recursion and captured output would escape the limits below (and there is no loader to include from);
- every value a template builds — with `+`, `*`, `~`, a list or dict literal, a filter — is at most
  `MAX_VALUE` characters as text, checked *before* it is built, so `'a' * 10**9`, `x ~ x` doubled in a
  chain of `set`s, or `[big] * 60000 | join` are refused instead of allocated; integers stay below
  `MAX_INT_BITS` bits, so `9**9**9` is refused instead of computed; `%` does not format strings (its
  width, like `str.format`'s, could ask for gigabytes);
- `range` yields at most `MAX_RANGE` numbers, all loops of one render together take at most
  `MAX_ITERATIONS` steps, and a render taking longer than `MAX_SECONDS` stops at its next step: loops
  over long strings or big `details` could otherwise spin without producing output;
- the output is streamed and stopped past `MAX_OUTPUT` characters;
- only the filters in `FILTERS` and the methods in `METHODS` exist: others (`center`, `indent`,
  `format`, `batch`, `slice`, `str.ljust`, …) take a size argument that would bypass the value bound.

Undefined values: a name that is not one of `NAMES` is refused when the template is saved (a typo is
a 422, not a silent blank), while a missing key or attribute of a known value (`details.humidity` when
this alert has none) renders as empty (`ChainableUndefined`): `details` differs from alert to alert,
and a notification must not be lost for a detail one alert lacks. Comparing or calling such an
undefined value still fails.

Text templates (webhook bodies, subjects, text email) do not escape; HTML email bodies escape every
value (autoescape), and the `safe` filter does not exist, so alert data cannot inject markup.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, Undefined, meta, nodes, pass_eval_context
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

from pulse.notify.events import AlertEvent

MAX_SOURCE = 10_000
MAX_OUTPUT = 64 * 1024
MAX_VALUE = MAX_OUTPUT
MAX_INT_BITS = 1024
MAX_RANGE = 100
MAX_LOOP_DEPTH = 2
MAX_ITERATIONS = 10_000
MAX_SECONDS = 1.0
MAX_MESSAGE = 200

NAMES = frozenset(
    {
        "alert_id",
        "tenant_id",
        "device_id",
        "site_id",
        "alert_type",
        "severity",
        "severity_label",
        "summary",
        "status",
        "event",
        "headline",
        "created_at",
        "actor",
        "details",
        "escalation_level",
        "ack_url",
    }
)

# Filters whose output is at most a small multiple of their (bounded) input.
FILTERS = frozenset(
    {
        "abs",
        "capitalize",
        "count",
        "d",
        "default",
        "dictsort",
        "e",
        "escape",
        "first",
        "float",
        "int",
        "items",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "reject",
        "rejectattr",
        "reverse",
        "round",
        "select",
        "selectattr",
        "sort",
        "string",
        "title",
        "tojson",
        "trim",
        "truncate",
        "unique",
        "upper",
        "urlencode",
        "wordcount",
    }
)

METHODS = frozenset(
    {
        "items",
        "keys",
        "values",
        "get",
        "upper",
        "lower",
        "title",
        "capitalize",
        "strip",
        "lstrip",
        "rstrip",
        "startswith",
        "endswith",
        "split",
        "cycle",  # loop.cycle
        "changed",  # loop.changed
    }
)

FORBIDDEN = {
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.AssignBlock: "set … endset",
    nodes.FilterBlock: "filter",
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
}


class TemplateError(ValueError):
    """A template is refused or failed to render; the message is short and safe to show the tenant."""


def variables(event: AlertEvent) -> dict[str, Any]:
    """The names a template may use (`NAMES`), from one alert event."""
    return {
        "alert_id": event.alert_id,
        "tenant_id": event.tenant_id,
        "device_id": event.device_id,
        "site_id": event.site_id,
        "alert_type": event.alert_type,
        "severity": event.severity,
        "severity_label": event.severity_label,
        "summary": event.summary,
        "status": event.status,
        "event": event.event,
        "headline": event.headline,
        "created_at": event.created_at.isoformat(),
        "actor": event.actor,
        "details": event.details,
        "escalation_level": event.details.get("escalation_level"),
        "ack_url": event.ack_url,
    }


def validate(source: str) -> None:
    """Raise TemplateError unless `source` is an acceptable template (for a 422 at save time)."""
    _compile(source, html=False)


def render(source: str, values: Mapping[str, Any], *, html: bool = False) -> str:
    """Render within the limits; any failure is a TemplateError. `html` escapes every value."""
    template = _compile(source, html=html)
    token = _budget.set(_Budget(time.monotonic() + MAX_SECONDS))
    try:
        return _collect(template.generate(values))
    except TemplateError:
        raise
    except Exception as exc:  # hostile templates can raise anything; the caller needs one kind
        raise TemplateError(_describe(exc)) from None
    finally:
        _budget.reset(token)


# Renders run in a small pool of their own, never in the event loop nor in the default executor: a
# burst of slow renders (each up to MAX_SECONDS) would otherwise take every default-executor thread, and
# DNS resolution (getaddrinfo) and other off-loop work of unrelated requests would queue behind them.
RENDER_THREADS = 2
RENDER_QUEUE_SECONDS = 15.0  # a render that cannot start and finish within this is refused
_render_pool: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _render_pool
    if _render_pool is None:
        _render_pool = ThreadPoolExecutor(max_workers=RENDER_THREADS, thread_name_prefix="pulse-render")
    return _render_pool


async def off_loop(func: Callable[..., Any], *args: Any) -> Any:
    """`func(*args)` (a render) in the bounded render pool; TemplateError when it waits too long."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RENDER_QUEUE_SECONDS):
            return await loop.run_in_executor(_pool(), functools.partial(func, *args))
    except TimeoutError:
        raise TemplateError("template rendering is busy; try again") from None


def _collect(chunks: Iterable[str]) -> str:
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise TemplateError(f"output longer than {MAX_OUTPUT} characters")
        out.append(chunk)
    return "".join(out)


def _describe(exc: Exception) -> str:
    if isinstance(exc, TemplateSyntaxError):
        text = f"line {exc.lineno}: {exc.message}"
    elif isinstance(exc, SecurityError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:MAX_MESSAGE]


# --- per-render budget -------------------------------------------------------------------------------


@dataclass
class _Budget:
    deadline: float
    iterations: int = MAX_ITERATIONS

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise SecurityError(f"template took longer than {MAX_SECONDS} s")

    def step(self) -> None:
        self.iterations -= 1
        if self.iterations < 0:
            raise SecurityError(f"loops took more than {MAX_ITERATIONS} steps")
        self.tick()


_budget: ContextVar[_Budget] = ContextVar("template_budget")


# --- size checks -------------------------------------------------------------------------------------


def _weight(value: Any, limit: int) -> int:
    """About how many characters `value` takes as text. Counting stops once past `limit`, so even a
    value built from many references to one big string costs at most the limit to measure."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, Mapping):
            total += 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 * len(item)
            stack.extend(item)
        else:
            total += 1
    return total


def _check_length(length: int) -> None:
    if length > MAX_VALUE:
        raise SecurityError(f"value longer than {MAX_VALUE} characters")


def _check_weight(value: Any) -> None:
    _check_length(_weight(value, MAX_VALUE))


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise SecurityError(f"number larger than {MAX_INT_BITS} bits")


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse before computing: the result itself would be the damage."""
    if operator == "%" and isinstance(left, str):
        raise SecurityError("% formatting of strings is not allowed")
    if operator == "+":
        _check_weight((left, right))
    elif operator == "*" and _is_int(left) and _is_int(right):
        _check_bits(left.bit_length() + right.bit_length())
    elif operator == "*":
        for sequence, times in ((left, right), (right, left)):
            if _is_int(times) and not isinstance(sequence, int | float):
                _check_length(_weight(sequence, MAX_VALUE) * max(times, 0))
    elif operator == "**" and _is_int(left) and _is_int(right) and right > 0:
        _check_bits(left.bit_length() * right)


# --- the environment ---------------------------------------------------------------------------------


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # An undefined value is callable (calling it fails), yet `details.a.b` must render as empty.
        plain = not callable(value) or isinstance(value, Undefined)
        return super().is_safe_attribute(obj, attr, value) and (plain or attr in METHODS)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # Fail loudly: the default undefined would render a refused attribute as a blank.
        raise SecurityError(f"access to attribute {attribute!r} is not allowed")

    def wrap_str_format(self, value: Any) -> None:
        # The sandbox would offer a guarded str.format, but its widths ('{:>999999999}') are unbounded;
        # returning None leaves `format` to the method whitelist, which refuses it.
        return None

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _budget.get().tick()
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range longer than {MAX_RANGE}")
    return numbers


def _guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose arguments are checked first (wraps keeps Jinja's pass_* marker)."""

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _budget.get().tick()
        for arg in (*args, *kwargs.values()):
            if not isinstance(arg, Context | EvalContext):  # Jinja's own first argument
                _check_weight(arg)
        return func(*args, **kwargs)

    return guarded


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    items = list(value)
    _check_length(_weight(items, MAX_VALUE) + len(str(d)) * len(items))
    return DEFAULT_FILTERS["join"](eval_ctx, items, d, attribute)


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old_text, new_text = str(s), str(old), str(new)
    hits = text.count(old_text)  # '' occurs len + 1 times
    if count is not None and count >= 0:
        hits = min(hits, count)
    _check_length(len(text) + hits * max(len(new_text) - len(old_text), 0))
    return DEFAULT_FILTERS["replace"](eval_ctx, s, old, new, count)


# The syntax tree is rewritten so that loops, `~` and literals pass through these. Their names contain
# a '-', which the template parser never produces, so a template cannot name them itself.
ITERATE, CONCAT, VALUE = "pulse-iterate", "pulse-concat", "pulse-value"


def _iterate(value: Iterable[Any]) -> Iterator[Any]:
    budget = _budget.get()
    for item in value:
        budget.step()
        yield item


@pass_eval_context
def _concat(eval_ctx: EvalContext, parts: tuple[Any, ...]) -> str:
    _budget.get().tick()
    _check_weight(parts)
    return (markup_join if eval_ctx.autoescape else str_join)(parts)


def _value(value: Any) -> Any:
    _check_weight(value)
    return value


def _finalize(value: Any) -> Any:
    """Every `{{ … }}` passes here before it becomes text."""
    _budget.get().tick()
    _check_weight(value)
    return value


def _environment(*, html: bool) -> _Sandbox:
    env = _Sandbox(
        autoescape=html,
        undefined=ChainableUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        # No constant folding: it would run filters at save time, outside any render budget.
        optimized=False,
    )
    builtin = {name: DEFAULT_FILTERS[name] for name in FILTERS} | {"join": _join, "replace": _replace}
    env.filters = {name: _guarded(func) for name, func in builtin.items()}
    env.filters |= {ITERATE: _iterate, CONCAT: _concat, VALUE: _value}
    env.globals = {"range": _range}
    return env


_ENVIRONMENTS = {False: _environment(html=False), True: _environment(html=True)}


def _wrap(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _Harden(NodeTransformer):
    """Refuses what the limits cannot bound and routes loops, `~` and literals through their checks."""

    def __init__(self) -> None:
        self.depth = 0

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        for kind, name in FORBIDDEN.items():
            if isinstance(node, kind):
                raise TemplateError(f"line {node.lineno}: {{% {name} %}} is not allowed")
        return super().visit(node, *args, **kwargs)

    def visit_For(self, node: nodes.For) -> nodes.For:
        if node.recursive:
            raise TemplateError(f"line {node.lineno}: recursive loops are not allowed")
        self.depth += 1
        if self.depth > MAX_LOOP_DEPTH:
            raise TemplateError(f"line {node.lineno}: loops nest deeper than {MAX_LOOP_DEPTH}")
        self.generic_visit(node)
        self.depth -= 1
        node.iter = _wrap(node.iter, ITERATE)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:
        self.generic_visit(node)
        return _wrap(nodes.Tuple(node.nodes, "load", lineno=node.lineno), CONCAT)

    def _literal(self, node: nodes.Expr) -> nodes.Expr:
        self.generic_visit(node)
        return _wrap(node, VALUE)

    visit_List = visit_Dict = _literal

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Expr:
        # A tuple in store context is an unpacking target (`for k, v in …`), not a value.
        return self._literal(node) if node.ctx == "load" else node


@functools.lru_cache(maxsize=256)
def _compile(source: str, *, html: bool) -> Any:
    if len(source) > MAX_SOURCE:
        raise TemplateError(f"template longer than {MAX_SOURCE} characters")
    env = _ENVIRONMENTS[html]
    try:
        tree = env.parse(source)
        unknown = sorted(meta.find_undeclared_variables(tree) - NAMES - env.globals.keys())
        if unknown:
            raise TemplateError(f"unknown variable: {', '.join(unknown)}"[:MAX_MESSAGE])
        tree = _Harden().visit(tree)
        tree.set_environment(env)
        return env.from_string(tree)
    except TemplateError:
        raise
    except Exception as exc:  # syntax errors, unknown filters, parser recursion on absurd nesting
        raise TemplateError(_describe(exc)) from None
