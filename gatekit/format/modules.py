"""Composite gates: reading module libraries (``imports:``) and expanding module uses.

A module is a sub-circuit used like a gate. :func:`load_imports` brings in
the modules of the files a circuit imports (paths relative to the importing
file, imports of imports too); :func:`expand` replaces every use of a module
by the module's gates before anything is validated or compiled, so a circuit
with modules runs exactly as fast as the same circuit written out. Both
return a new :class:`~gatekit.format.parse.CircuitDef`; whether a module's
name is also a gate's is known only with the installed gates, and
:func:`gatekit.engine.validate.validate` checks it.

An expanded gate is named after the use: in ``f: {gate: logistic, in: [dot]}``
the module's output gate becomes ``f`` itself and its other gates ``f/n``,
``f/e``, ...; nested uses nest the prefix (``f/inner/n``). ``/`` cannot occur
in a name written in a file, so these names never collide with the author's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace

import networkx as nx

from gatekit.errors import GraphError, LoadError, Location, quoted
from gatekit.format.parse import CircuitDef, GateUse, ModuleDef, parse_library
from gatekit.format.yamlsource import Reader
from gatekit.limits import exceeded, limit

__all__ = ["expand", "load_imports"]

SEPARATOR = "/"


def load_imports(circuit: CircuitDef) -> CircuitDef:
    """``circuit`` with the modules of every file it imports, directly or not.

    :raises GraphError: an import is missing or unreadable (located at the
        import), is not a module library, closes a cycle of imports (named),
        or defines a module name already defined.
    """
    start = os.path.abspath(circuit.file)
    base = os.path.dirname(start) if os.path.exists(start) else os.getcwd()
    # (the file's path, as written, where it is named, the chain of files importing it)
    stack: list[tuple[str, str, Location, tuple[str, ...]]] = [
        (_join(base, text), text, location, (start,)) for text, location in reversed(circuit.imports)
    ]
    done: set[str] = set()
    modules = dict(circuit.modules)
    while stack:
        path, text, location, chain = stack.pop()
        if path in chain:
            names = [os.path.relpath(p, base) for p in (*chain[chain.index(path) :], path)]
            raise GraphError(f"import cycle: {' -> '.join(names)}", location)
        if path in done:
            continue
        done.add(path)
        reader = Reader(os.path.relpath(path))
        try:
            root = reader.read_file(path)
        except LoadError as exc:
            if exc.location is not None and exc.location.line is not None:
                raise  # inside the imported file: its own place
            raise GraphError(f"cannot import {quoted(text, limit=200)}: {exc.message}", location) from None
        library = parse_library(root, reader)
        for name, module in library.modules.items():
            first = modules.get(name)
            if first is not None:
                raise GraphError(
                    f"module {name!r} is defined twice: here and at {first.location}", module.location
                )
            modules[name] = module
        folder = os.path.dirname(path)
        for item, item_location in reversed(library.imports):
            stack.append((_join(folder, item), item, item_location, (*chain, path)))
    return replace(circuit, modules=modules)


def _join(folder: str, text: str) -> str:
    return os.path.normpath(os.path.join(folder, os.path.expanduser(text)))


def expand(circuit: CircuitDef) -> CircuitDef:
    """``circuit`` with every use of a module replaced by the module's gates.

    :raises GraphError: a module uses itself (directly or through others;
        the chain is named), names something it does not define, or is used
        with the wrong number of inputs or with attrs.
    """
    modules = circuit.modules
    if not modules:
        return circuit
    for module in modules.values():
        _check_body(module)
    uses = _check_recursion(modules)
    _check_size(circuit, _expanded_sizes(modules, uses))
    defined_at = dict(circuit.defined_at)
    expanded: dict[str, GateUse] = {}
    # (gate use, its path: where it sits in the tree of module uses)
    stack = [(use, use.name) for use in reversed(list(circuit.gates.values()))]
    while stack:
        use, path = stack.pop()
        used = modules.get(use.gate)
        if used is None:
            expanded[use.name] = use
            continue
        instance = _instantiate(used, use, path)
        for inner, _ in instance:
            defined_at.setdefault(inner.name, inner.location)
        stack.extend(reversed(instance))
    return replace(circuit, gates=expanded, defined_at=defined_at)


def _check_body(module: ModuleDef) -> None:
    what = f"module {module.name!r}"
    for use in module.gates.values():
        for source, location in zip(use.inputs, use.input_locations, strict=True):
            if isinstance(source, str) and source not in module.defined_at:
                known = ", ".join(module.defined_at)
                raise GraphError(
                    f"gate {use.name!r} in {what} takes {source!r}, which is not an input or gate of "
                    f"the module (names inside a module are local to it; it has: {known})",
                    location,
                )
    if module.output not in module.gates:
        raise GraphError(
            f"the output of {what} must be one of its gates, not {module.output!r}", module.output_location
        )


def _expanded_sizes(modules: Mapping[str, ModuleDef], uses: nx.DiGraph[str]) -> dict[str, int]:
    """How many gates each module expands to, its nested uses included, counted without expanding.

    Modules inside modules multiply (ten uses of a module of ten uses of ...),
    so the count is a product over the tree of uses: computed module by
    module, each after the modules it uses.
    """
    sizes: dict[str, int] = {}
    for name in reversed(list(nx.topological_sort(uses))):  # a module after every module it uses
        sizes[name] = sum(sizes.get(use.gate, 1) for use in modules[name].gates.values())
    return sizes


def _check_size(circuit: CircuitDef, sizes: Mapping[str, int]) -> None:
    """Refuse, before building it, an expansion with more nodes than ``GATEKIT_MAX_NODES``.

    :raises GraphError: at the first gate (in file order) whose module uses
        take the count past the limit.
    """
    most = limit("GATEKIT_MAX_NODES")
    count = len(circuit.leaves)
    for use in circuit.gates.values():
        size = sizes.get(use.gate, 1)
        count += size
        if count > most:
            what = f"module {use.gate!r}, which expands to {size:,} gates" if use.gate in sizes else "a gate"
            raise GraphError(
                f"gate {use.name!r} uses {what}: the circuit's {exceeded('GATEKIT_MAX_NODES', 'node count')}",
                use.gate_location,
            )


def _check_recursion(modules: Mapping[str, ModuleDef]) -> nx.DiGraph[str]:
    """The graph of which module uses which; refuse a module that uses itself, naming the chain."""
    uses: nx.DiGraph[str] = nx.DiGraph()
    where: dict[tuple[str, str], Location] = {}
    for module in modules.values():
        uses.add_node(module.name)
        for use in module.gates.values():
            if use.gate in modules:
                uses.add_edge(module.name, use.gate)
                where.setdefault((module.name, use.gate), use.gate_location)
    try:
        edges = nx.find_cycle(uses)
    except nx.NetworkXNoCycle:
        return uses
    names = [source for source, _ in edges]
    first = names[0]
    chain = " -> ".join([*names, first])
    message = f"module {first!r} uses itself: {chain}" if len(names) > 1 else f"module {first!r} uses itself"
    raise GraphError(message, where[edges[0][0], edges[0][1]])


def _instantiate(module: ModuleDef, use: GateUse, path: str) -> list[tuple[GateUse, str]]:
    """The module's gates, renamed for this use, its inputs wired to the use's.

    A gate's new name is its path (``path/local``), except the module's
    output, which takes the use's own name; paths, unlike names, keep nesting
    apart (a module whose output is another module's use).
    """
    if len(use.inputs) != len(module.inputs):
        count = "1 input" if len(module.inputs) == 1 else f"{len(module.inputs)} inputs"
        raise GraphError(
            f"gate {use.name!r} uses module {module.name!r}, which takes {count} "
            f"({', '.join(module.inputs)}), got {len(use.inputs)}",
            use.in_location,
        )
    if use.attrs:
        first = next(iter(use.attr_key_locations.values()), use.location)
        raise GraphError(f"gate {use.name!r} uses module {module.name!r}, which takes no attrs", first)
    actual = dict(zip(module.inputs, use.inputs, strict=True))

    def renamed(local: str) -> str:
        return use.name if local == module.output else f"{path}{SEPARATOR}{local}"

    def source(local: str | float) -> str | float:
        if not isinstance(local, str):
            return local
        return actual[local] if local in actual else renamed(local)

    # where each formal input comes from among the outermost use's inputs
    outer = use.arguments if use.within else tuple(range(len(use.inputs)))
    formal = dict(zip(module.inputs, outer, strict=True))

    def argument(local: str | float) -> int | None:
        return formal[local] if isinstance(local, str) and local in formal else None

    within = (*use.within, (path, module.name))
    return [
        (
            replace(
                inner,
                name=renamed(inner.name),
                inputs=tuple(source(s) for s in inner.inputs),
                within=within,
                arguments=tuple(argument(s) for s in inner.inputs),
            ),
            f"{path}{SEPARATOR}{inner.name}",
        )
        for inner in module.gates.values()
    ]
