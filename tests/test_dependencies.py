"""The dependency rule of docs/architecture.md ("Layers"), checked on the source:

    reporting -> governance -> {initiatives, kpis} -> cat4 (tenancy -> common)

plus kpis -> initiatives. Every import of every app module counts, at module level and
inside functions alike, relative ones resolved; migrations are left out."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("cat4", "initiatives", "kpis", "governance", "reporting")

# Which other parts each part may import (its own modules it always may).
ALLOWED = {
    "reporting": {"governance", "initiatives", "kpis", "cat4.tenancy", "cat4.common"},
    "governance": {"initiatives", "kpis", "cat4.tenancy", "cat4.common"},
    "kpis": {"initiatives", "cat4.tenancy", "cat4.common"},
    "initiatives": {"cat4.tenancy", "cat4.common"},
    "cat4.tenancy": {"cat4.common"},
    "cat4.common": set(),
}

# The project's composition root wires the apps together, so it may import every one of
# them; nothing imports it back, apart from the Celery app.
COMPOSITION_ROOT = {
    "cat4/__init__.py": "loads the Celery app when Django starts",
    "cat4/asgi.py": "the ASGI entry point",
    "cat4/celery.py": "the Celery app and its beat schedule, naming every app's tasks",
    "cat4/devservers.py": "the process supervisor behind make run / make test",
    "cat4/settings/": "INSTALLED_APPS and every setting that names an app's code",
    "cat4/urls.py": "the root URLconf, including every app's URLs",
    "cat4/wsgi.py": "the WSGI entry point",
}

# Modules of the composition root that any part may import.
IMPORTABLE_FROM_ROOT = {
    "cat4.celery": "the Celery app; it imports no app module (task discovery is lazy)",
}


def part_of(module: str) -> str | None:
    """The part a dotted module name belongs to; "root" for the composition root; None
    for modules outside the project (stdlib, Django, third-party packages)."""
    top, _, rest = module.partition(".")
    if top not in APPS:
        return None
    if top != "cat4":
        return top
    sub = rest.partition(".")[0]
    return f"cat4.{sub}" if sub in ("common", "tenancy") else "root"


def module_name(path: Path) -> str:
    parts = path.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, *, path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in ``source`` (the file at ``path``, relative
    to the project root), wherever it stands; ``from x import y`` gives ``x.y``."""
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def forbidden_imports(source: str, *, path: Path) -> list[str]:
    """One line per import in ``source`` that breaks the rule: ``file:line: edge``."""
    source_part = part_of(module_name(path))
    problems = []
    for line, module in imported_modules(source, path=path):
        target = part_of(module)
        if target is None or target == source_part:
            continue
        if target == "root":
            if any(module == m or module.startswith(f"{m}.") for m in IMPORTABLE_FROM_ROOT):
                continue
        elif target in ALLOWED[source_part]:
            continue
        problems.append(f"{path}:{line}: {source_part} -> {target} (imports {module})")
    return problems


def app_files() -> list[Path]:
    return sorted(path.relative_to(ROOT) for app in APPS for path in (ROOT / app).rglob("*.py")
                  if "migrations" not in path.parts)


def in_composition_root(path: Path) -> bool:
    return any(path.as_posix() == entry or (entry.endswith("/")
                                            and path.as_posix().startswith(entry))
               for entry in COMPOSITION_ROOT)


def test_every_import_follows_the_dependency_rule():
    problems, unplaced = [], []
    for path in app_files():
        if in_composition_root(path):
            continue
        if part_of(module_name(path)) == "root":
            unplaced.append(str(path))
            continue
        problems += forbidden_imports((ROOT / path).read_text(), path=path)
    assert not unplaced, ("modules in no part (move them into cat4/common or cat4/tenancy, "
                          f"or list them in COMPOSITION_ROOT with a reason): {unplaced}")
    assert not problems, "imports against the dependency rule:\n" + "\n".join(problems)


def test_the_checker_catches_a_forbidden_import_at_module_and_function_level():
    source = (
        "from cat4.common.exceptions import ApplicationError\n"
        "from cat4.tenancy.models import Role\n"
        "from . import services\n"
        "from governance import services as gate_services\n"
        "\n"
        "\n"
        "def detail(request):\n"
        "    import governance.selectors\n"
        "    from reporting.history import as_of_comparison\n"
        "    return governance.selectors, as_of_comparison\n"
    )
    assert forbidden_imports(source, path=Path("initiatives/views.py")) == [
        "initiatives/views.py:4: initiatives -> governance (imports governance.services)",
        "initiatives/views.py:8: initiatives -> governance (imports governance.selectors)",
        "initiatives/views.py:9: initiatives -> reporting (imports reporting.history."
        "as_of_comparison)",
    ]


def test_the_checker_resolves_relative_imports():
    source = ("from ..tenancy.models import Invitation\n"
              "from .exceptions import ApplicationError\n"
              "from cat4 import tenancy, urls\n"
              "from cat4.celery import app\n")
    assert forbidden_imports(source, path=Path("cat4/common/tasks.py")) == [
        "cat4/common/tasks.py:1: cat4.common -> cat4.tenancy "
        "(imports cat4.tenancy.models.Invitation)",
        "cat4/common/tasks.py:3: cat4.common -> cat4.tenancy (imports cat4.tenancy)",
        "cat4/common/tasks.py:3: cat4.common -> root (imports cat4.urls)",
    ]
    assert forbidden_imports("from .. import services\n",
                             path=Path("governance/api/views.py")) == []
