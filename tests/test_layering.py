"""The packages' layering (docs/architecture.md): the engine knows nothing of Qt or of the
app; the app's subpackages import only the layers below them (window > run, panels >
record > view > model); nothing below the window takes the main window; no module of the
project imports itself through others (imports inside functions count: they only hide a
circle until the function runs)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("poe_engine", "poe_desktop")
QT_MODULES = ("PySide6", "shiboken6", "pyqtgraph", "OpenGL")
MAX_MODULE_LINES = 450
MAX_MAIN_WINDOW_LINES = 250  # layout and wiring only: runs live in run/session.py
# The app's layers, lowest first; a module imports only lower layers and its own package.
# The root's small Qt helpers sit just above the model; app.py and the package's
# __init__/__main__ start the app and sit on top.
LAYERS = {"model": 0, "qt_utils": 1, "gui_gc": 1, "view": 2, "record": 3, "run": 4,
          "panels": 4, "window": 5, "app": 6, "": 6, "__main__": 7}
BELOW_THE_WINDOW = ("model", "view", "record", "run", "panels")


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project's packages."""
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = path
    return files


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _import_nodes(tree: ast.AST):
    """Every import statement, at any depth, but those under `if TYPE_CHECKING:` (which
    never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if _type_checking_only(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The project's modules that module `name` imports (absolute or relative), and the
    top-level names of everything else it imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        if node.level:
            base = package.split(".")
            base = base[: len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module
        found.add(target)
        for alias in node.names:  # `from package import module`
            if f"{target}.{alias.name}" in known:
                found.add(f"{target}.{alias.name}")
    return {m for m in found if m in known} | {m.split(".")[0] for m in found
                                               if m.split(".")[0] not in PACKAGES}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    return {name: {m for m in imported_modules(name, path, known) if m in known}
            for name, path in files.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (or a module importing
    itself), by Tarjan's algorithm."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph[node]:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def layer_of(module: str) -> str:
    """'poe_desktop.view.camera' -> 'view'; 'poe_desktop' -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """'a -> b' for each import of the app that does not go down the layers."""
    bad = []
    for name, imports in sorted(graph.items()):
        if not name.startswith("poe_desktop"):
            continue
        for target in sorted(imports):
            if not target.startswith("poe_desktop."):
                continue
            mine, theirs = layer_of(name), layer_of(target)
            if mine != theirs and LAYERS[theirs] >= LAYERS[mine]:
                bad.append(f"{name} -> {target}")
    return bad


def takes_the_main_window(path: Path) -> list[str]:
    """Where a module reaches for the main window: a parameter named window or
    main_window, or the names QMainWindow / MainWindow."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                if arg.arg in ("window", "main_window"):
                    found.append(f"{path.name}:{node.lineno} parameter {arg.arg}")
        elif isinstance(node, ast.Name | ast.alias):
            name = node.id if isinstance(node, ast.Name) else node.name
            if name.split(".")[-1] in ("QMainWindow", "MainWindow"):
                found.append(f"{path.name}:{node.lineno} {name}")
    return sorted(found)


def test_every_app_module_belongs_to_a_layer():
    assert {layer_of(m) for m in module_files() if m.startswith("poe_desktop")} <= set(LAYERS)


def test_the_app_imports_only_down_its_layers():
    assert layer_violations(import_graph()) == []


def test_the_layer_check_finds_an_import_upward():
    graph = {"poe_desktop.model.frames": {"poe_desktop.view.view3d"},
             "poe_desktop.panels.sampler": {"poe_desktop.run.session",
                                            "poe_desktop.panels.common"},
             "poe_desktop.window.menus": {"poe_desktop.panels.sampler"}}
    assert layer_violations(graph) == ["poe_desktop.model.frames -> poe_desktop.view.view3d",
                                       "poe_desktop.panels.sampler -> poe_desktop.run.session"]


def test_nothing_below_the_window_takes_the_main_window():
    found = []
    for layer in BELOW_THE_WINDOW:
        for path in sorted((ROOT / "poe_desktop" / layer).rglob("*.py")):
            found += takes_the_main_window(path)
    assert found == []


def test_the_main_window_check_finds_a_panel_that_takes_it(tmp_path):
    panel = tmp_path / "panel.py"
    panel.write_text("from PySide6.QtWidgets import QMainWindow\n"
                     "def install(window, menu):\n    window.panel = menu\n")
    assert takes_the_main_window(panel) == ["panel.py:1 QMainWindow",
                                            "panel.py:2 parameter window"]


def test_the_model_imports_no_qt():
    files = module_files()
    known = set(files)
    for name, path in files.items():
        if name.startswith("poe_desktop.model"):
            assert not imported_modules(name, path, known) & set(QT_MODULES), name


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "poe_desktop.record.command" in graph["poe_desktop.app"]  # imported in main()
    assert "poe_desktop.window.main_window" in graph["poe_desktop"]  # in __getattr__
    assert "poe_desktop.panels.sampler" in graph["poe_desktop.panels.timeline"]


def test_the_cycle_finder_finds_a_circle_through_a_function():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]


def test_no_import_circles():
    assert find_cycles(import_graph()) == []


def test_the_engine_imports_neither_the_app_nor_qt():
    files = module_files()
    known = set(files)
    for name, path in files.items():
        if name.startswith("poe_engine"):
            imports = imported_modules(name, path, known)
            assert not {m for m in imports if m.split(".")[0] == "poe_desktop"}, name
            assert not imports & set(QT_MODULES), name


def test_importing_the_engine_loads_no_qt():
    engine = sorted(name for name in module_files() if name.startswith("poe_engine")
                    and not name.endswith("__main__"))
    code = (f"import importlib, sys\nfor m in {engine!r}: importlib.import_module(m)\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(QT_MODULES)!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_no_module_is_over_450_lines():
    long = {}
    for path in sorted([*(ROOT / "poe_desktop").rglob("*.py"),
                        *(ROOT / "poe_engine").rglob("*.py")]):
        key = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            long[key] = lines
    assert long == {}


def test_the_main_window_only_lays_out_and_wires():
    lines = len((ROOT / "poe_desktop" / "window" / "main_window.py").read_text().splitlines())
    assert lines < MAX_MAIN_WINDOW_LINES


def test_the_model_loads_no_qt():
    """What the worker streams and what the view shows is computed without Qt (a
    display-less test drives it)."""
    model = sorted(m for m in module_files() if m.startswith("poe_desktop.model"))
    code = (f"import importlib, sys\nfor m in {model!r}: importlib.import_module(m)\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(QT_MODULES)!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
