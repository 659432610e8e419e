"""The import graph keeps the layers of docs/architecture.md: no circle, no arrow pointing up.

``qrap_core`` is the domain: it never imports the deployables (API, worker, CLI) nor their
frameworks, and its pure layers (catalog, discovery, rules, scoring, planning, reports) never
import the database and service layers, so that they stay usable and testable without a DB.
"""

from __future__ import annotations

from collections.abc import Iterator

import grimp
import pytest

CORE = "qrap_core"
DEPLOYABLES = ("qrap_api", "qrap_worker", "qrap_cli")
FRAMEWORKS = ("fastapi", "starlette", "celery")
PURE_LAYERS = tuple(
    f"{CORE}.{name}" for name in ("crypto", "discovery", "rules", "scoring", "planning", "reports")
)
SERVICE_LAYERS = tuple(
    f"{CORE}.{name}"
    for name in ("assessment", "finding", "webhook", "organization", "pipeline", "db")
)
# Pure modules allowed to reach into the service layers, and why. Keep this list short: an
# entry is a debt, not a design.
SERVICE_IMPORT_EXCEPTIONS: dict[str, str] = {
    f"{CORE}.reports.model": (
        "the report's typed model embeds the read schemas of assessments and findings"
    ),
}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # No cache: a stale one would judge yesterday's imports.
    return grimp.build_graph(CORE, *DEPLOYABLES, include_external_packages=True, cache_dir=None)


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in packages)


def _imports(graph: grimp.ImportGraph, packages: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """Every direct import whose importer lies in ``packages``."""
    for importer in sorted(graph.modules):
        if _within(importer, packages):
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                yield importer, imported


class TestCore:
    def test_no_import_cycle(self, graph: grimp.ImportGraph) -> None:
        ours = (CORE, *DEPLOYABLES)
        cycles = [
            f"{importer} -> {imported}"
            for importer, imported in _imports(graph, ours)
            if _within(imported, ours) and graph.chain_exists(importer=imported, imported=importer)
        ]
        assert cycles == [], "imports that close a circle:\n" + "\n".join(cycles)

    def test_never_imports_deployables_or_their_frameworks(self, graph: grimp.ImportGraph) -> None:
        outward = [
            f"{importer} -> {imported}"
            for importer, imported in _imports(graph, (CORE,))
            if _within(imported, DEPLOYABLES + FRAMEWORKS)
        ]
        assert outward == []

    def test_pure_layers_do_not_import_services(self, graph: grimp.ImportGraph) -> None:
        upward = [
            f"{importer} -> {imported}"
            for importer, imported in _imports(graph, PURE_LAYERS)
            if _within(imported, SERVICE_LAYERS) and importer not in SERVICE_IMPORT_EXCEPTIONS
        ]
        assert upward == [], "pure modules importing the DB or service layers:\n" + "\n".join(
            upward
        )

    @pytest.mark.parametrize("module", sorted(SERVICE_IMPORT_EXCEPTIONS))
    def test_exceptions_are_still_needed(self, graph: grimp.ImportGraph, module: str) -> None:
        assert module in graph.modules, f"{module} is gone: remove it from the exceptions"
        imported = graph.find_modules_directly_imported_by(module)
        assert any(_within(m, SERVICE_LAYERS) for m in imported), (
            f"{module} no longer imports a service layer: remove it from the exceptions"
        )
