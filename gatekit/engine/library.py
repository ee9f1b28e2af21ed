"""Checking a module library on its own: ``gatekit validate graphs/lib/neuron.yaml``.

A library has nothing to run, but its modules are checked as a circuit that
uses each of them once would be: imports loaded, names, recursion, the
gates they apply (installed, right input counts and attributes), references
and cycles. Every error is located in the file where it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from yaml.nodes import Node

from gatekit.engine.graph import build_graph
from gatekit.engine.validate import check_module_names, validate
from gatekit.format.modules import expand, load_imports
from gatekit.format.parse import NO_ATTRS, CircuitDef, GatePlaces, GateUse, Leaf, ModuleDef, parse_library
from gatekit.format.yamlsource import Reader
from gatekit.plugin.registry import GateRegistry

__all__ = ["LibraryReport", "check_library"]


@dataclass(frozen=True, slots=True)
class LibraryReport:
    """What a library holds: its own modules, and the modules its imports bring in."""

    file: str
    modules: tuple[str, ...]  # defined in the file itself, in file order
    imported: tuple[str, ...]  # brought in by its imports


def _use_of(module: ModuleDef) -> CircuitDef:
    """A circuit whose only gate uses ``module``, its formal inputs for leaves."""
    where = module.location
    leaves = {name: Leaf(name, "input", 0.0, where) for name in module.inputs}
    use = GateUse(
        name=f"_{module.name}_use",
        gate=module.name,
        inputs=module.inputs,
        attrs=NO_ATTRS,
        location=where,
        places=GatePlaces(where, where, (where,) * len(module.inputs), {}, {}),
    )
    return CircuitDef(
        file=where.file,
        leaves=leaves,
        gates={use.name: use},
        outputs=(use.name,),
        output_locations=(where,),
        defined_at={**dict.fromkeys(leaves, where), use.name: where},
    )


def check_library(root: Node, reader: Reader, registry: GateRegistry) -> LibraryReport:
    """Check every module of the library ``root`` (composed by ``reader``).

    :raises GatekitError: the first problem in the library or its imports, located.
    """
    library = parse_library(root, reader)
    own = tuple(library.modules)
    library = load_imports(library)
    check_module_names(library, registry)
    for name in own:
        circuit = replace(_use_of(library.modules[name]), modules=library.modules)
        build_graph(validate(expand(circuit), registry))
    imported = tuple(name for name in library.modules if name not in own)
    return LibraryReport(reader.file, own, imported)
