"""The package layout: no import cycles between modules, and every third-party
module the code imports is declared in pyproject.toml."""
import ast
import sys
import tomllib

from conftest import ROOT

PACKAGE = ROOT / "pipeline"
# import name -> distribution name, where they differ
DISTRIBUTIONS = {"sklearn": "scikit-learn", "docx": "python-docx", "pdfminer": "pdfminer.six", "dask": "dask",
                 "distributed": "dask", "yaml": "pyyaml"}


def _modules() -> dict[str, ast.Module]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = (ast.parse(path.read_text(encoding="utf-8")), path.name == "__init__.py")
    return modules


def _imports(tree: ast.Module) -> set[str]:
    """Every module imported anywhere in the file, at the top or inside a function."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_module_imports_back_a_module_that_imports_it():
    modules = _modules()
    # A package's __init__ only gathers its modules (pipeline.components
    # registers them, pipeline gives load()): edges into an __init__ are not counted.
    graph = {name: {i for i in _imports(tree) if i in modules and not modules[i][1] and i != name}
             for name, (tree, _) in modules.items() if not modules[name][1]}
    cycles = []

    def visit(name, path):
        for target in graph.get(name, ()):
            if target in path:
                cycles.append(path[path.index(target):] + [target])
            elif target not in done:
                visit(target, path + [target])
        done.add(name)

    done: set = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert cycles == []


def test_every_third_party_import_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {requirement.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower()
                for requirement in project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]}
    imported = {name.split(".")[0] for tree, _ in _modules().values() for name in _imports(tree)}
    third_party = {name for name in imported if name != "pipeline" and name not in sys.stdlib_module_names}
    missing = sorted(name for name in third_party if DISTRIBUTIONS.get(name, name).lower() not in declared)
    assert missing == []


def test_a_regular_install_carries_every_file_of_the_shipped_pipeline():
    # setuptools' data-files take files, not folders: each file of models/vnreport
    # is listed, and a retrained pipeline with another file set must be listed anew.
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["data-files"]
    listed = {path for paths in data_files.values() for path in paths}
    shipped = {path.relative_to(ROOT).as_posix() for path in (ROOT / "models" / "vnreport").rglob("*") if path.is_file()}
    assert shipped - listed == set()
    assert all((ROOT / path).is_file() for path in listed if path.startswith("models/"))
