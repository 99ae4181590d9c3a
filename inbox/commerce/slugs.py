"""URL slugs for catalogue documents: made from a name, unique per org.

A clash takes the first free numeric suffix: `blue-shirt`, `blue-shirt-2`, `blue-shirt-3`.
Two creates racing for the same slug both pick it; the unique index refuses the second,
which then retries (see `with_unique_slug`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo.errors import DuplicateKeyError

MAX_SLUG = 80
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_ATTEMPTS = 8

T = TypeVar("T")


def slugify(text: str, fallback: str) -> str:
    """Lower-case ASCII words joined by hyphens ("Café Crème 50 ml" -> "cafe-creme-50-ml"),
    at most MAX_SLUG characters, cut at a word boundary; `fallback` when nothing is left
    (a name in a script with no ASCII transliteration)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > MAX_SLUG:
        cut = slug[: MAX_SLUG + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else slug[:MAX_SLUG]
        slug = slug.strip("-")
    return slug or fallback


def first_free(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


async def taken_like(collection: Any, org_id: str, base: str) -> set[str]:
    """The org's slugs that are `base` or `base-<n>` (one indexed prefix query)."""
    pattern = f"^{re.escape(base)}(-[0-9]+)?$"
    cursor = collection.find({"orgId": org_id, "slug": {"$regex": pattern}}, {"slug": 1})
    return {doc["slug"] for doc in await cursor.to_list()}


def is_slug_clash(exc: DuplicateKeyError) -> bool:
    """Whether the (orgId, slug) index refused the write, not another unique index."""
    details = exc.details or {}
    pattern = details.get("keyPattern")
    if isinstance(pattern, dict):
        return "slug" in pattern
    # Servers that name only the index: "... index: orgId_1_slug_1 dup key: ...".
    return re.search(r"index: \S*_slug_", str(details.get("errmsg") or exc)) is not None


async def with_unique_slug(
    collection: Any, org_id: str, base: str, write: Callable[[str], Awaitable[T]]
) -> T:
    """Call `write(slug)` with the first free slug from `base`, again with the next free one
    when a concurrent write took it first. Other duplicate keys propagate."""
    for _ in range(_ATTEMPTS - 1):
        slug = first_free(base, await taken_like(collection, org_id, base))
        try:
            return await write(slug)
        except DuplicateKeyError as exc:
            if not is_slug_clash(exc):
                raise
    return await write(first_free(base, await taken_like(collection, org_id, base)))
