"""What the load asks for: mostly list pages, some creates.

Readers who page through the list follow the cursors the server handed them,
so over a run they walk thousands of rows deep; a few jump straight to the
oldest pages, as a link shared long ago would.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _api_load import Call
from _api_seed import Seeded

from civicpost.drafting.listing import encode_cursor

LIST = "/api/v1/announcements"
# Kinds, in the order the tables print them; "list" sums the three list kinds.
KINDS = ["list first", "list filtered", "list cursor", "list", "create"]


@dataclass
class _Chain:
    """One reader paging back through one view of the list."""

    query: str
    cursor: str | None = None

    def follow(self, answer: dict[str, Any]) -> None:
        # At the last page the reader starts again from the newest.
        self.cursor = answer.get("next_cursor")


class Mix:
    def __init__(self, seeded: Seeded, rng: random.Random, *, creates: bool, lists: bool = True) -> None:
        self.seeded = seeded
        self.rng = rng
        self.chains = [
            _Chain(""), _Chain(""), _Chain("state=published"), _Chain("department=police"),
        ]
        # Weights per 100 requests: 80 list pages and 20 creates.
        choices: list[tuple[Callable[[int], Call], int]] = [
            (self._first, 30),
            (self._filtered, 30),
            (self._follow, 15),
            (self._deep, 5),
        ] if lists else []
        if creates:
            choices.append((self._create, 20))
        self.makers = [maker for maker, _ in choices]
        self.weights = [weight for _, weight in choices]

    def __call__(self, i: int) -> Call:
        return self.rng.choices(self.makers, self.weights)[0](i)

    def _list(self, kind: str, query: str, *, token: str | None = None, **kwargs: Any) -> Call:
        path = f"{LIST}?limit=50" + (f"&{query}" if query else "")
        return Call(kind, "GET", path, token or self.seeded.approver_token, **kwargs)

    def _first(self, _: int) -> Call:
        return self._list("list first", "")

    def _filtered(self, _: int) -> Call:
        departments = self.seeded.departments
        options = [
            (10, lambda: "state=published", None),
            (8, lambda: f"department={self.rng.choice(departments)}", None),
            # An approver's review queue for one department.
            (4, lambda: f"department={self.rng.choice(departments)}&state=submitted", None),
            (3, lambda: "emergency=true", None),
            # Staff see their own departments only (the IN (...) branch).
            (5, lambda: "", self.seeded.staff_token),
        ]
        _, query, token = self.rng.choices(options, [w for w, _, _ in options])[0]
        return self._list("list filtered", query(), token=token)

    def _follow(self, i: int) -> Call:
        chain = self.chains[i % len(self.chains)]
        query = chain.query + (f"&cursor={chain.cursor}" if chain.cursor else "")
        return self._list("list cursor", query.lstrip("&"), on_answer=chain.follow)

    def _deep(self, _: int) -> Call:
        # Within the oldest tenth of the table: the deepest pages there are.
        low, high = self.seeded.min_id, self.seeded.max_id
        cursor = encode_cursor(self.rng.randint(low + 50, low + (high - low) // 10))
        return self._list("list cursor", f"cursor={cursor}")

    def _create(self, i: int) -> Call:
        body = {
            "department": self.seeded.staff_department,
            "title": f"Benchmark notice {i}",
            "body": "The Elm Street pool opens Saturday at 9 a.m. Lifeguards on duty all day.",
            "channels": self.seeded.staff_channels,
        }
        return Call("create", "POST", LIST, self.seeded.staff_token, body)
