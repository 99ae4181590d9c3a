"""Message templates (campaigns, macros): Jinja2 in a sandbox, with undefined variables as errors.

    validate(template, CUSTOMER_VARIABLES)            # at save time: 400 naming what is unknown
    render(template, {"customer": customer_context(c)})  # per recipient / per ticket

Templates are written by admins but rendered with customers' data, so they run in Jinja's
`SandboxedEnvironment` (no attribute access to internals, no unsafe calls) with
`StrictUndefined`: a misspelt variable is refused when the template is saved, and a value
missing for one customer fails that render instead of sending "Hi ," to a customer.
"""

from __future__ import annotations

import operator
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, nodes
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import SandboxedEnvironment

from inbox.errors import ValidationFailed

__all__ = [
    "CUSTOMER_VARIABLES",
    "MAX_OUTPUT_CHARS",
    "TemplateRenderError",
    "customer_context",
    "render",
    "render_html",
    "validate",
]

MAX_OUTPUT_CHARS = 65_536
"""Longest text a render may produce; platforms cap messages far below this anyway."""

CUSTOMER_VARIABLES: dict[str, Any] = {
    "customer": {"name": True, "externalId": True, "platform": True, "metadata": True}
}
"""What campaign and macro templates may use. A dict lists the attributes allowed below a
name; `True` allows anything below it (`customer.metadata.x`, `customer.name.title()`)."""


class TemplateRenderError(Exception):
    """A template could not be rendered for this context (e.g. a missing metadata key)."""


class _Sandbox(SandboxedEnvironment):
    # `"x" * 10**9` or `10 ** 10**9` would exhaust memory before any output limit applies.
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            if isinstance(right, int) and abs(right) > 100:
                raise TemplateRenderError("exponent too large")
            return operator.pow(left, right)
        if isinstance(left, int) and isinstance(right, str | list | tuple):
            left, right = right, left
        if isinstance(left, str | list | tuple) and isinstance(right, int):
            if len(left) * max(right, 0) > MAX_OUTPUT_CHARS:
                raise TemplateRenderError("repetition too large")
        return operator.mul(left, right)


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
# HTML e-mail bodies: the same sandbox, with customers' values HTML-escaped.
_HTML_ENV = _Sandbox(undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True)


def customer_context(customer: Any) -> dict[str, Any]:
    """The `customer` variable for a Customer document (or None: an unknown customer)."""
    if customer is None:
        return {"name": "", "externalId": "", "platform": "", "metadata": {}}
    platform = customer.platform
    return {
        "name": customer.name or "",
        "externalId": customer.external_id,
        "platform": getattr(platform, "value", platform),
        "metadata": dict(customer.metadata or {}),
    }


def validate(template: str, allowed: dict[str, Any]) -> None:
    """Refuse a template with a syntax error or a variable outside `allowed`.

    Raises ValidationFailed naming the problem, e.g. message "Undefined template variable:
    customer.emial" and details `{"template": "undefined variable customer.emial"}`."""
    validate_field(template, allowed, field="template")


def validate_field(template: str, allowed: dict[str, Any], *, field: str) -> None:
    """`validate`, with the request field the template came from as the `details` key."""
    try:
        ast = _ENV.parse(template)
        _ENV.from_string(template)  # compiles: unknown filters and tests fail here
    except TemplateSyntaxError as exc:
        raise ValidationFailed(
            f"Template syntax error on line {exc.lineno}: {exc.message}",
            code="TEMPLATE_INVALID",
            details={field: f"syntax error on line {exc.lineno}: {exc.message}"},
        ) from exc
    except TemplateError as exc:
        raise ValidationFailed(
            f"Invalid template: {exc.message}",
            code="TEMPLATE_INVALID",
            details={field: str(exc.message)},
        ) from exc
    except RecursionError as exc:  # e.g. thousands of nested brackets
        raise ValidationFailed(
            "Invalid template: nested too deeply",
            code="TEMPLATE_INVALID",
            details={field: "nested too deeply"},
        ) from exc
    unknown = _unknown_variables(ast, allowed)
    if unknown:
        names = ", ".join(unknown)
        raise ValidationFailed(
            f"Undefined template variable{'s' if len(unknown) > 1 else ''}: {names}",
            code="TEMPLATE_UNDEFINED_VARIABLE",
            details={field: f"undefined variable {names}"},
        )


def render(template: str, context: dict[str, Any]) -> str:
    """Render in the sandbox; TemplateRenderError when a value is undefined or unsafe."""
    return _render(_ENV, template, context)


def render_html(template: str, context: dict[str, Any]) -> str:
    """`render` for an HTML template: the values it inserts are HTML-escaped."""
    return _render(_HTML_ENV, template, context)


@lru_cache(maxsize=256)
def _compiled(env: _Sandbox, template: str) -> Template:
    # Compiling costs far more than rendering: a campaign renders one template per recipient.
    return env.from_string(template)


def _render(env: _Sandbox, template: str, context: dict[str, Any]) -> str:
    try:
        out = _compiled(env, template).render(context)
    except TemplateRenderError:
        raise
    except TemplateError as exc:
        raise TemplateRenderError(str(exc.message or exc)) from exc
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from exc
    except RecursionError as exc:  # a macro calling itself
        raise TemplateRenderError("recursion too deep") from exc
    if len(out) > MAX_OUTPUT_CHARS:
        raise TemplateRenderError(f"rendered text is longer than {MAX_OUTPUT_CHARS} characters")
    return out


def _unknown_variables(ast: nodes.Template, allowed: dict[str, Any]) -> list[str]:
    """Dotted names the template reads that `allowed` does not offer, in order of appearance."""
    free = find_undeclared_variables(ast)  # names the template itself does not assign
    found: dict[str, None] = {}
    for node in ast.find_all((nodes.Name, nodes.Getattr, nodes.Getitem)):
        path = _path(node)
        if path is None or path[0] not in free:
            continue
        spec: Any = allowed
        for depth, segment in enumerate(path):
            if not isinstance(spec, dict):
                break  # `True`: anything below is allowed
            if segment not in spec:
                found[".".join(path[: depth + 1])] = None
                break
            spec = spec[segment]
    return list(found)


def _path(node: nodes.Node) -> list[str] | None:
    """["customer", "metadata", "x"] for `customer.metadata.x` or `customer["metadata"].x`;
    None when the chain does not start at a loaded variable. A dynamic subscript ends the
    path there (what follows cannot be checked before rendering)."""
    segments: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            segments.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem):
            key = node.arg.value if isinstance(node.arg, nodes.Const) else None
            segments = [] if not isinstance(key, str) else [*segments, key]
            node = node.node
        elif isinstance(node, nodes.Name):
            if node.ctx != "load":
                return None
            segments.append(node.name)
            return segments[::-1]
        else:
            return None
