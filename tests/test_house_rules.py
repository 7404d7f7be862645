"""The house rules of issue #19, checked on the source tree so that they keep holding.

Each rule is a symptom of a cause the redesign mended (one hash function, one provenance API,
importable training code, a registry that never runs models); a failure names the files.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted(REPO.glob("packages/*/src/fusion/**/*.py"))
MODEL_SCRIPTS = sorted(p for p in REPO.glob("models/**/*.py") if "checkpoints" not in p.parts)
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80


def _python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        for path in sorted((REPO / folder).rglob("*.py")):
            if not {".venv", "checkpoints", "__pycache__"} & set(path.parts):
                yield path


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _calls(tree: ast.AST, dotted: str) -> int:
    """How many calls of ``a.b(...)`` (``dotted`` = ``a.b``) the tree makes."""
    found = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == dotted:
            found += 1
    return found


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def _is_import_trick(node: ast.AST) -> bool:
    """A call of ``spec_from_file_location``, or a change to ``sys.path``."""
    if isinstance(node, ast.Call):
        called = ast.unparse(node.func)
        return "spec_from_file_location" in called or called.startswith("sys.path.")
    if isinstance(node, ast.Assign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(ast.unparse(t).startswith("sys.path") for t in targets)
    return False


def test_no_import_tricks():
    """Training code, test helpers and benchmarks are imported as packages, never by path."""
    tricks = [
        f"{_rel(path)}:{node.lineno}"
        for path in [
            *_python_files("packages", "models", "tests", "benchmarks"),
            REPO / "conftest.py",
        ]
        if path != Path(__file__)
        for node in ast.walk(_tree(path))
        if _is_import_trick(node)
    ]
    assert not tricks, f"import tricks: {tricks}"


def test_one_sha256():
    """SHA-256 is computed by the bottom layer's hashing module only."""
    places = {_rel(p): n for p in SOURCES if (n := _calls(_tree(p), "hashlib.sha256"))}
    assert sum(places.values()) <= 2, f"hashlib.sha256( in {places}"


def test_registry_never_runs_models():
    """fusion.registry knows files, hashes, cards and the cache; the tasks run models."""
    importing = []
    for path in sorted(REPO.glob("packages/registry/src/**/*.py")):
        for node in ast.walk(_tree(path)):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            if any(n.split(".")[0] in {"onnx", "onnxruntime"} for n in names):
                importing.append(f"{_rel(path)}:{node.lineno}")
    assert not importing, f"onnx/onnxruntime imported in {importing}"
    project = tomllib.loads((REPO / "packages/registry/pyproject.toml").read_text())["project"]
    declared = [*project.get("dependencies", [])]
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    assert not [d for d in declared if d.startswith(("onnx", "onnxruntime"))], declared


def test_schema_arranged_by_concern():
    modules = sorted((REPO / "packages/schema/src/fusion/schema").glob("*.py"))
    assert len(modules) <= 12, [m.name for m in modules]


@pytest.mark.parametrize("path", [*SOURCES, *MODEL_SCRIPTS], ids=_rel)
def test_small_files_and_functions(path: Path):
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_FILE_LINES, f"{_rel(path)} has {lines} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{_rel(path)}: {long}"


def test_registry_is_an_index():
    size = (REPO / "registry.yaml").stat().st_size
    assert size <= 20_000, f"registry.yaml is {size} bytes"


def _module_name(path: Path) -> str:
    parts = path.parts[path.parts.index("src") + 1 :]
    name = ".".join(parts).removesuffix(".py")
    return name.removesuffix(".__init__")


def _imports(path: Path, name: str) -> set[str]:
    """Modules of ``fusion`` that ``path`` imports at module level (TYPE_CHECKING included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    body = list(_tree(path).body)
    while body:
        node = body.pop(0)
        if isinstance(node, ast.If | ast.Try):
            body += [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("fusion.")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module.startswith("fusion."):
                found.add(module)
                found |= {f"{module}.{a.name}" for a in node.names}
    return found


def test_no_import_circles():
    """No two modules of a package import each other, directly or round a longer loop."""
    modules = {_module_name(p): p for p in SOURCES}
    graph = {
        name: {m for m in _imports(path, name) if m in modules and m != name}
        for name, path in modules.items()
    }
    # a package's __init__ re-exporting its own modules is not a circle through them
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    circles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not circles, circles
