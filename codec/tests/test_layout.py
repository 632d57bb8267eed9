"""The codec package's imports point one way: foundations <- components <- systems and
baselines <- zoo <- evaluation <- command line; no cycles; no GNU Radio anywhere.

Read from the source (every import statement, function-local ones included), so a
violation fails here even when no test imports the offending module.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "semcom_codec"

# Rank of each top-level module or subpackage: an import may only point to the same or a
# lower rank.
RANKS = {
    **dict.fromkeys(["errors", "runtime", "images", "heap", "checkpoints", "malformed",
                     "interface", "registry"], 0),
    **dict.fromkeys(["layers", "quantizers", "phy", "fec", "metrics", "training"], 1),
    **dict.fromkeys(["systems", "baselines"], 2),
    **dict.fromkeys(["zoo", "testing"], 3),
    "evaluation": 4,
    **dict.fromkeys(["cli", "__init__"], 5),
}
FORBIDDEN_ROOTS = ("gnuradio", "pmt", "osmosdr", "uhd")


def module_name(path):
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports_of(path):
    """(absolute imports, package-internal modules) of one source file, everywhere in it."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" and name != "__init__" else \
        name.split(".")[:-1]
    absolute, internal = set(), set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                absolute.add(alias.name)
                if alias.name.startswith("semcom_codec."):
                    internal.add(alias.name[len("semcom_codec."):])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("semcom_codec"):
                target = node.module[len("semcom_codec."):] if "." in node.module else ""
            else:
                absolute.add(node.module or "")
                continue
            for alias in node.names:  # "from . import data" names a module
                child = f"{target}.{alias.name}" if target else alias.name
                internal.add(child if _is_module(child) else target)
    return absolute, {m for m in internal if m}


def _is_module(dotted):
    path = PACKAGE.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {name: imports_of(path)[1] for name, path in MODULES.items()}


def rank(module):
    return RANKS[module.split(".")[0]]


def test_every_top_level_part_has_a_rank():
    missing = sorted({m.split(".")[0] for m in MODULES} - set(RANKS))
    assert not missing, f"give these a rank in RANKS: {missing}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_or_sideways(module):
    wrong = sorted(t for t in GRAPH[module] if rank(t) > rank(module))
    assert not wrong, f"{module} (rank {rank(module)}) imports higher layers: {wrong}"
    if module.startswith("systems.") and module.count(".") >= 1:
        own = module.split(".")[1]
        others = sorted(t for t in GRAPH[module]
                        if t.startswith("systems.") and t.split(".")[1] != own)
        assert not others, f"system {own} imports another system: {others}"
    if module.startswith("baselines"):
        assert not [t for t in GRAPH[module] if t.startswith("systems")], module


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_gnuradio_or_radio_driver_imports(module):
    absolute, _ = imports_of(MODULES[module])
    bad = sorted(m for m in absolute if m.split(".")[0] in FORBIDDEN_ROOTS)
    assert not bad, f"{module} imports {bad}: the codec core must run without GNU Radio"


def test_no_import_cycles():
    """Depth-first search over module -> imported modules (the package's root
    __init__, whose exports are lazy, excluded)."""
    def edges(module):
        return {t for t in GRAPH[module] if t in GRAPH and t != "__init__"}

    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(edges(module)):
            if state.get(target) == "open":
                cycle = stack[stack.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


def test_the_checker_sees_function_local_and_relative_imports(tmp_path):
    """The parser resolves what the package uses: a relative import two levels up and
    one inside a function."""
    _, internal = imports_of(PACKAGE / "systems" / "moc_rvq" / "model.py")
    assert {"checkpoints", "quantizers.moc_rvq", "systems.moc_rvq.config"} <= internal
    assert "systems.moc_rvq.nrb" in internal  # imported inside _build()
