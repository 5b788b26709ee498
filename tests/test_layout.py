"""The package's shape, as the contributing guide states it: no import cycle between its
modules, no module over 450 lines, no function over 100 lines of code (its docstring not
counted), and only the store sub-package touches the store's format (imports zarr, or reads
the store's attributes)."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "thermo_ode"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 100
STORE = PACKAGE / "sweeps" / "store"


def modules() -> dict[str, pathlib.Path]:
    """Dotted module name -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


class _WithoutTypeChecking(ast.NodeTransformer):
    """Drops `if TYPE_CHECKING:` blocks: imports there never run, so they make no cycle."""

    def visit_If(self, node: ast.If):
        return None if "TYPE_CHECKING" in ast.unparse(node.test) else self.generic_visit(node)


def _imported(name: str, path: pathlib.Path, known: set[str]) -> set[str]:
    """The package's modules that module `name` imports when it runs (at any depth of its code)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = _WithoutTypeChecking().visit(ast.parse(path.read_text()))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        out |= {target for target in targets if target in known and target != name}
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    found = modules()
    return {name: _imported(name, path, set(found)) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, as the modules around it (Tarjan's strongly connected components,
    ignoring a package's import of its own sub-modules, which re-exports and is no cycle)."""
    edges = {a: {b for b in bs if not b.startswith(a + ".")} for a, bs in graph.items()}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    assert not cycles(import_graph())


def test_modules_are_short():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function from its `def` to its end, less its docstring."""
    lines = node.end_lineno - node.lineno + 1
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            lines -= body[0].end_lineno - body[0].lineno + 1
    return lines


def test_functions_are_short():
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _code_lines(node) > MAX_FUNCTION_LINES:
                long.append(f"{name}.{node.name}: {_code_lines(node)} lines")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines of code: {long}"


def test_only_the_store_knows_its_format():
    found = []
    for name, path in modules().items():
        if path.is_relative_to(STORE):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "zarr" for a in node.names):
                found.append(f"{name}:{node.lineno} imports zarr")
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "zarr" and not node.level:
                found.append(f"{name}:{node.lineno} imports zarr")
            # The store's attributes (a run's identity, its sweep's shape, JSON text) are read
            # through the store's functions: `X.attrs[...]` or `X.attrs.get(...)` elsewhere is not.
            reads = isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith(".attrs")
            reads |= isinstance(node, ast.Call) and ast.unparse(node.func).endswith(".attrs.get")
            if reads:
                found.append(f"{name}:{node.lineno} reads attributes: {ast.unparse(node)[:60]}")
    assert not found, "\n".join(found)
