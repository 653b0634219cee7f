"""Tests share helpers through modules named for what they hold (factories.py,
pages.py, engine/observing.py), never by importing another test module, and
drive civicpost through its public names only: a private name is free to
change, and a test that reaches it breaks when it does."""

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
SOURCE = TESTS.parent / "src" / "civicpost"

# Private names of the worker that helper E's move into civicpost/engine/
# replaces with public ones; each entry must still be in use, so the list
# only shrinks.
NOT_YET_PUBLIC: set[tuple[str, str]] = set()


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name != "_"


@cache
def private_names_of_civicpost() -> frozenset[str]:
    """Every private name civicpost defines: functions, classes, module and
    instance attributes, and private modules."""
    names: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        if is_private(path.stem):
            names.add(path.stem)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return frozenset(name for name in names if is_private(name))


def imported_module(node: ast.ImportFrom, path: Path) -> str:
    """The dotted name a `from ... import` reads from, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = list(path.relative_to(TESTS.parent).parent.parts)
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def is_test_module(dotted: str) -> bool:
    return dotted.startswith("tests.") and dotted.rsplit(".", 1)[-1].startswith("test_")


def problems_in(source: str, path: Path) -> Iterator[tuple[str, int, str]]:
    """(kind, line, name) for each import of a test module and each use of a
    private civicpost name in `source`, the text of the module at `path`."""
    private = private_names_of_civicpost()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = imported_module(node, path)
            for alias in node.names:
                if is_test_module(module) or is_test_module(f"{module}.{alias.name}"):
                    yield "imports a test module", node.lineno, f"{module}.{alias.name}"
                private_module = any(map(is_private, module.split(".")))
                if module.startswith("civicpost") and (is_private(alias.name) or private_module):
                    yield "imports a private name", node.lineno, f"{module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if is_test_module(alias.name):
                    yield "imports a test module", node.lineno, alias.name
                if alias.name.startswith("civicpost") and any(map(is_private, alias.name.split("."))):
                    yield "imports a private name", node.lineno, alias.name
        elif isinstance(node, ast.Attribute) and node.attr in private:
            yield "uses a private name", node.lineno, node.attr
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
            "setattr", "getattr", "delattr",
        ):
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    named = arg.value.rsplit(".", 1)[-1]
                    if named in private or (arg.value.startswith("civicpost.") and is_private(named)):
                        yield "patches a private name", node.lineno, arg.value


@pytest.fixture(scope="module")
def found() -> dict[str, list[tuple[str, int, str]]]:
    return {
        path.relative_to(TESTS).as_posix(): list(problems_in(path.read_text(encoding="utf-8"), path))
        for path in sorted(TESTS.rglob("*.py"))
    }


def test_no_test_module_imports_another_test_module_or_a_private_civicpost_name(found):
    problems = [
        f"tests/{where}:{line} {kind}: {name}"
        for where, listed in found.items()
        for kind, line, name in listed
        if (where, name) not in NOT_YET_PUBLIC
    ]
    advice = "share helpers through factories.py or a helper module; test civicpost through public names"
    assert not problems, advice + ":\n" + "\n".join(problems)


def test_every_name_waiting_to_be_made_public_is_still_used(found):
    used = {(where, name) for where, listed in found.items() for _, _, name in listed}
    assert NOT_YET_PUBLIC <= used, f"no longer used; remove from NOT_YET_PUBLIC: {sorted(NOT_YET_PUBLIC - used)}"


@pytest.mark.parametrize(("source", "expected"), [
    ("from tests.engine.test_worker import approved", "imports a test module"),
    ("from .test_mastodon import mastodon_client", "imports a test module"),
    ("from . import test_x", "imports a test module"),
    ("import tests.web.test_drafting", "imports a test module"),
    ("from civicpost.platforms import _guard", "imports a private name"),
    ("from civicpost.platforms._meta import MetaClient", "imports a private name"),
    ("import civicpost.platforms._support", "imports a private name"),
    ("worker._wake.set()", "uses a private name"),
    ("monkeypatch.setattr(net, '_lookups', None)", "patches a private name"),
    ("monkeypatch.setattr('civicpost.net._lookups', None)", "patches a private name"),
])
def test_the_scan_finds_each_kind_of_problem(source, expected):
    kinds = [kind for kind, _, _ in problems_in(source, TESTS / "sandbox" / "test_example.py")]
    assert kinds == [expected]


def test_the_scan_passes_public_names_and_helper_modules():
    clean = (
        "from tests.factories import create_channel\nfrom tests.pages import csrf_of\nfrom .clients import x_client\n"
        "from civicpost import net\nmonkeypatch.setattr(net, 'resolver', None)\n"
        "obj.__class__\nfor _ in range(3): pass\n"
    )
    assert list(problems_in(clean, TESTS / "web" / "test_example.py")) == []
