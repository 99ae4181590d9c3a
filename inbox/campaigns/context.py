"""What campaign and message-template templates may read, and its values per customer.

    {{ customer.name }} {{ customer.email }} {{ customer.totalOrders }} {{ customer.metadata.x }}
    {{ customer_name }} {{ company_name }}      (the sales document's flat names)

`customer.*` is the CRM customer as automation templates see it (id, name, externalId,
platform, email, phone, city, tags, status, totalOrders, totalRevenue, lastOrderDate,
birthday, anniversary, metadata); `company_name` is the organisation's name. Anything else is
refused when the template is saved (sandboxed Jinja2 with undefined variables as errors).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from jinja2 import nodes
from jinja2.meta import find_undeclared_variables

from inbox import templating
from inbox.accounts.documents import Organisation
from inbox.automation.template_variables import CUSTOMER_TEMPLATE_FIELDS, customer_context
from inbox.crm.customer_documents import Customer

# What a template may read of a customer: the fields automation templates see, and metadata.
CUSTOMER_FIELDS = (*CUSTOMER_TEMPLATE_FIELDS, "metadata")
VARIABLES: dict[str, Any] = {
    "customer": {name: True for name in CUSTOMER_FIELDS},
    "customer_name": True,
    "company_name": True,
}

_ORG_NAMES: dict[str, tuple[str, float]] = {}
_ORG_TTL_SECONDS = 60.0


def validate(template: str, field: str) -> None:
    """400 naming the field for a syntax error or a variable outside VARIABLES."""
    templating.validate_field(template, VARIABLES, field=field)


def variables_of(templates: Iterable[str | None]) -> list[str]:
    """The variables the (valid) templates read, dotted, in order of first use:
    ["customer.name", "company_name"]."""
    found: dict[str, None] = {}
    env = templating._ENV  # the same sandbox as rendering, only parsed here
    for template in templates:
        if not template:
            continue
        ast = env.parse(template)
        free = find_undeclared_variables(ast)
        for node in ast.find_all((nodes.Name, nodes.Getattr)):
            path = _dotted(node)
            if path and path.split(".")[0] in free:
                found[path] = None
    # `customer.name` also walks through its `customer` Name node: keep the longest paths.
    names = list(found)
    return [n for n in names if not any(o.startswith(n + ".") for o in names)]


def _dotted(node: nodes.Node) -> str | None:
    parts: list[str] = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if not isinstance(node, nodes.Name) or node.ctx != "load":
        return None
    parts.append(node.name)
    path = list(reversed(parts))
    # customer.name, customer.metadata.city: what follows is a method or an item of a value.
    keep = 3 if len(path) > 2 and path[1] == "metadata" else 2
    return ".".join(path[:keep])


async def org_name(org_id: str) -> str:
    """The organisation's name, cached a minute per process (rendered into every message)."""
    cached = _ORG_NAMES.get(org_id)
    if cached and time.monotonic() - cached[1] < _ORG_TTL_SECONDS:
        return cached[0]
    doc = await Organisation.get_pymongo_collection().find_one({"_id": org_id}, {"name": 1})
    name = str((doc or {}).get("name") or "")
    _ORG_NAMES[org_id] = (name, time.monotonic())
    return name


def context(customer: Customer, company_name: str) -> dict[str, Any]:
    values = customer_context(customer)
    return {"customer": values, "customer_name": values["name"], "company_name": company_name}
