"""The command line's words: every subcommand, its options, its help and examples.

:func:`build` makes the parser. Its error method raises
:class:`CommandLineError` instead of exiting, so :func:`gatekit.cli.main` can
print the usage of the subcommand that was given (not the top level's) and
one ``error:`` line, with exit code 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import gatekit
from gatekit.cli import chunked as chunked_command
from gatekit.cli import commands, importing
from gatekit.cli import export as export_command
from gatekit.cli import train as train_command
from gatekit.engine.backends import BACKENDS
from gatekit.engine.jacobian import MODES
from gatekit.views import draw

__all__ = ["CommandLineError", "Parser", "build"]


class CommandLineError(Exception):
    """A bad command line: what argparse found, and the parser whose usage to show."""

    def __init__(self, message: str, parser: argparse.ArgumentParser) -> None:
        super().__init__(message)
        self.message = message
        self.parser = parser


class Parser(argparse.ArgumentParser):
    """An argument parser that raises :class:`CommandLineError` rather than exiting."""

    def error(self, message: str) -> NoReturn:
        raise CommandLineError(message, self)


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


SET_HELP = (
    "set an input or param: a number (1.5, -2, inf, nan) or a YAML list, quoted for the shell "
    "('w=[1, 2]'); repeat --set for more; applied after --inputs"
)


def _subcommand(
    commands_: Any,
    name: str,
    run: Callable[[argparse.Namespace], int],
    *,
    summary: str,
    description: str,
    examples: Sequence[str],
    parents: Sequence[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands_.add_parser(
        name,
        parents=list(parents),
        help=summary,
        description=description,
        epilog=_examples(*examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(command=run, parser=parser)
    return parser


def _gradient_options(parser: argparse.ArgumentParser) -> None:
    """``--of NAME`` and ``--seed-grad VALUE|FILE``: which gradient backprop computes."""
    parser.add_argument(
        "--of",
        metavar="NAME",
        help="take the gradient of NAME, any output or gate, instead of the first output",
    )
    parser.add_argument(
        "--seed-grad",
        metavar="VALUE|FILE",
        help="start backprop from this gradient at the output (default 1, ones for an array): a value "
        "as --set takes ('[1, 0]'), or a .npz, .csv or .json file holding one; gives a vector-Jacobian "
        "product",
    )


def _tangent_option(parser: argparse.ArgumentParser, does: str) -> None:
    """``--tangent NAME=VALUE``, repeatable: forward mode."""
    parser.add_argument(
        "--tangent",
        dest="tangents",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="forward mode: move input or param NAME in direction VALUE (a number, or an array of its "
        f"shape; the others stay) and {does}; repeat for more leaves",
    )


def _backend_options(parser: argparse.ArgumentParser, does: str | None = None) -> None:
    """``--backend`` and ``--device``: the array library a run computes with (``does``: what it does)."""
    parser.add_argument(
        "--backend",
        choices=list(BACKENDS),
        default="numpy",
        help=does
        or "compute with this array library: every input and param becomes its float64 array "
        "(default numpy; the results print the same)",
    )
    parser.add_argument(
        "--device",
        metavar="DEVICE",
        help="where the backend's arrays live, as the library names it (torch: cpu, cuda, cuda:1; "
        "jax: cpu, gpu:0; cupy: cuda:0); default the library's own",
    )


def _chunk_options(parser: argparse.ArgumentParser, does: str) -> None:
    """``--chunks`` and ``--scheduler``: the inputs as Dask arrays cut along the batch axis (``does``)."""
    parser.add_argument(
        "--chunks",
        type=int,
        metavar="N",
        help=f"read --inputs as Dask arrays in N chunks along the first axis (.zarr, a folder of .npy "
        f"shards, .npy, .npz, .csv); {does} (the dask extra)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --chunks, compute on the dask.distributed cluster at ADDRESS (tcp://host:8786); "
        "default Dask's local threads",
    )


def build() -> Parser:
    """The ``gatekit`` parser, with every subcommand."""
    common = Parser(add_help=False)
    common.add_argument(
        "-p",
        dest="plugins",
        action="append",
        default=[],
        metavar="NAME",
        help="load the plugin module NAME (an import name or a .py file); -p no:NAME blocks plugin NAME",
    )
    leaf_options = Parser(add_help=False)
    leaf_options.add_argument(
        "--inputs",
        metavar="FILE",
        help="read inputs and params by name from FILE (.npz, .csv with a header row, .json)",
    )
    leaf_options.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE", help=SET_HELP
    )
    circuit_options = Parser(add_help=False, parents=[leaf_options])
    circuit_options.add_argument(
        "graph", metavar="GRAPH", help="a circuit file (.yaml); - reads standard input"
    )

    parser = Parser(
        prog="gatekit",
        description="Build circuits of gates and backpropagate through them.",
        epilog=_examples(
            "gatekit run graphs/neuron.yaml",
            "gatekit explain graphs/neuron.yaml",
            "gatekit draw graphs/neuron.yaml -o neuron.svg",
            "gatekit COMMAND --help",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gatekit {gatekit.__version__}")
    subcommands = parser.add_subparsers(metavar="COMMAND", parser_class=Parser)

    run = _subcommand(
        subcommands,
        "run",
        chunked_command.run,
        summary="forward and backward; outputs and gradients",
        description="Run the circuit forward and backward, and print every output and the gradient of the\n"
        "first output with respect to every input and param.",
        examples=[
            "gatekit run graphs/neuron.yaml",
            "gatekit run graphs/neuron.yaml --set x0=1.5 --set 'w0=[1, 2]'",
            "gatekit run graphs/neuron_batch.yaml --inputs graphs/data/neuron_batch.csv --json",
            "gatekit run graphs/neuron.yaml -o run.npz",
            "gatekit run graphs/neuron.yaml --tangent x0=1",
            "gatekit run graphs/neuron.yaml --of dot",
            "gatekit run graphs/neuron_batch.yaml --backend array-api-strict",
            "gatekit run graphs/neuron_batch.yaml --inputs graphs/data/neuron_batch.csv --chunks 4",
            "cat graphs/neuron.yaml | gatekit run -",
        ],
        parents=[common, circuit_options],
    )
    run.add_argument("--json", action="store_true", help="print one JSON object (strict JSON)")
    _gradient_options(run)
    _tangent_option(run, "print how every output moves")
    run.add_argument(
        "--check-finite",
        action="store_true",
        help="stop at the first gate that produces NaN or infinity (forward or backward); exit 1",
    )
    run.add_argument(
        "-o",
        "--output",
        metavar="FILE.npz",
        help="also save outputs, gradients and every value to FILE.npz (keys outputs/NAME, grads/NAME, "
        "values/NAME); with --chunks, outputs and gradients to OUT.zarr or to .npy shards in folder OUT",
    )
    _backend_options(run)
    _chunk_options(run, "forward and backward are one Dask graph, computed once")

    jacobian = _subcommand(
        subcommands,
        "jacobian",
        commands.jacobian,
        summary="the whole Jacobian of outputs with respect to inputs and params",
        description="Compute the Jacobian of the outputs (or those --of names) with respect to every input\n"
        "and param (or those --wrt names): by reverse passes, one per output element, or by\n"
        "forward passes, one per leaf element, whichever needs fewer (--mode chooses). Print it\n"
        "as a table, a row per output element and a column per leaf element, with the mode and\n"
        "the number of passes; --json and -o FILE.npz give every block d OUT / d LEAF, of the\n"
        "output's shape followed by the leaf's, at any size.",
        examples=[
            "gatekit jacobian graphs/arm.yaml",
            "gatekit jacobian graphs/arm.yaml --wrt theta",
            "gatekit jacobian graphs/arm.yaml --of x --of y --wrt theta --mode reverse",
            "gatekit jacobian graphs/neuron_batch.yaml --inputs graphs/data/neuron_batch.csv -o jacobian.npz",
            "gatekit jacobian graphs/neuron.yaml --of dot --json",
        ],
        parents=[common, circuit_options],
    )
    jacobian.add_argument(
        "--of",
        action="append",
        default=[],
        metavar="OUT",
        help="differentiate OUT, an output or any gate (default: every output); repeat for more",
    )
    jacobian.add_argument(
        "--wrt",
        action="append",
        default=[],
        metavar="LEAF",
        help="with respect to input or param LEAF (default: every input and param); repeat for more",
    )
    jacobian.add_argument(
        "--mode",
        choices=MODES,
        default="auto",
        help="reverse (a pass per output element), forward (a pass per leaf element), or auto: whichever "
        "needs fewer passes (the default)",
    )
    jacobian.add_argument("--json", action="store_true", help="print one JSON object (strict JSON)")
    jacobian.add_argument(
        "-o",
        "--output",
        metavar="FILE.npz",
        help="also save every block to FILE.npz, under the key 'd OUT / d LEAF'",
    )

    validate = _subcommand(
        subcommands,
        "validate",
        commands.validate,
        summary="check a circuit or a module library without running it",
        description="Read and check a circuit (its format, its gates, attrs, references, cycles) without\n"
        "running it; warn about gates no output uses. A module library (a file of modules:\n"
        "and imports:) is checked module by module.",
        examples=["gatekit validate graphs/neuron.yaml", "gatekit validate graphs/lib/neuron.yaml"],
        parents=[common],
    )
    validate.add_argument(
        "graph", metavar="GRAPH", help="a circuit file or a module library (.yaml); - reads stdin"
    )

    gates = _subcommand(
        subcommands,
        "gates",
        commands.gates,
        summary="list the installed gates",
        description="List every installed gate: name, number of inputs, attributes with their defaults, the\n"
        "plugin and distribution it comes from, and its one-line doc.",
        examples=["gatekit gates", "gatekit gates --json", "gatekit gates -p my_gates.py"],
        parents=[common],
    )
    gates.add_argument("--json", action="store_true", help="print a JSON list")

    check = _subcommand(
        subcommands,
        "check",
        commands.check,
        summary="check gradients against central differences: one gate, or a circuit",
        description="Check gradients against central differences (float64). `check --gate NAME` checks one\n"
        "installed gate at random points in its domain; `check GRAPH` checks every gate of the\n"
        "circuit at the circuit's own values, then the circuit end to end. Exit 1 when a\n"
        "gradient disagrees.",
        examples=[
            "gatekit check --gate sigmoid",
            "gatekit check --gate pow --points 20 --seed 3",
            "gatekit check --gate softmax --backend array-api-strict",
            "gatekit check graphs/neuron.yaml --set x0=0.5",
            "gatekit check graphs/neuron.yaml --of dot",
        ],
        parents=[common, leaf_options],
    )
    check.add_argument("graph", metavar="GRAPH", nargs="?", help="a circuit file (.yaml); - reads stdin")
    check.add_argument("--gate", metavar="NAME", help="check one installed gate instead of a circuit")
    check.add_argument(
        "--points", type=int, metavar="N", help="random points per shape, with --gate (default 5)"
    )
    check.add_argument("--seed", type=int, help="seed of the random points, with --gate (default 0)")
    _gradient_options(check)
    _backend_options(check, "with --gate, also check the gate computing with this array library")

    explain = _subcommand(
        subcommands,
        "explain",
        commands.explain,
        summary="the forward and backward passes gate by gate, for learning backprop",
        description="Run the circuit and write out every step: each gate's inputs and output, then, in\n"
        "reverse, the gradient arriving at each gate, each local gradient, its product with the\n"
        "upstream gradient, and how the products add up into each input's gradient. A module\n"
        "use is one gate, whose wires carry what comes back through the whole module; --expand\n"
        "shows the gates inside instead. With --tangent, the forward-mode pass instead of the\n"
        "backward one: for each gate a tangent reaches, each input's tangent, the local gradient,\n"
        "their product and the sum into the gate's tangent.",
        examples=[
            "gatekit explain graphs/neuron.yaml",
            "gatekit explain graphs/neuron.yaml --digits 2",
            "gatekit explain graphs/neuron.yaml --tangent x0=1",
            "gatekit explain graphs/neuron.yaml --of dot",
            "gatekit explain graphs/neuron_modules.yaml --expand --json",
        ],
        parents=[common, circuit_options],
    )
    explain.add_argument("--json", action="store_true", help="print one JSON object, at full precision")
    _gradient_options(explain)
    _tangent_option(explain, "write the forward-mode pass instead of the backward one")
    explain.add_argument(
        "--expand", action="store_true", help="a row for every gate inside module uses (default: one per use)"
    )
    explain.add_argument(
        "--digits",
        type=int,
        default=4,
        metavar="N",
        help="significant digits in the text, 1 to 17 (default 4)",
    )

    training = _subcommand(
        subcommands,
        "train",
        train_command.train,
        summary="fit the params: outputs[0] is the loss, the data file's inputs are fed in minibatches",
        description="Train the circuit: its first output is the loss, its params are fitted, and every\n"
        "input the data file (--inputs) names is fed row by row in minibatches. The solver (the\n"
        "optimizer, the learning rate and its schedule, the steps, the batch size...) is the\n"
        "circuit's train: section or a --solver file; the flags below override single keys.\n"
        "-o writes the circuit file with each param's value replaced by its trained value and\n"
        "nothing else changed. Ctrl-C stops after the current step and writes the files; a loss\n"
        "that stops being finite ends the run (exit 1) naming the step and the gate, and writes\n"
        "nothing.",
        examples=[
            "gatekit train graphs/moons.yaml --inputs graphs/data/moons.json -o moons.trained.yaml",
            "gatekit train graphs/xor.yaml --inputs graphs/data/xor.csv --log xor.csv --plot xor.svg",
            "gatekit train graphs/linear_regression.yaml --inputs graphs/data/linear_regression.csv \\\n"
            "      --steps 100 --lr 0.05 --checkpoint lr.npz",
            "gatekit train graphs/linear_regression.yaml --inputs graphs/data/linear_regression.csv \\\n"
            "      --resume lr.npz",
        ],
        parents=[common, circuit_options],
    )
    training.add_argument(
        "--solver", metavar="FILE", help="read the solver from FILE (.yaml) instead of the train: section"
    )
    training.add_argument(
        "-o", "--output", metavar="FILE.yaml", help="write the trained circuit to FILE.yaml"
    )
    training.add_argument(
        "--checkpoint",
        metavar="FILE.npz",
        help="save the whole state (params, optimizer, data order) to FILE.npz every checkpoint_every "
        "steps and at the end",
    )
    training.add_argument(
        "--checkpoint-every", type=int, metavar="N", help="save the checkpoint every N steps (and at the end)"
    )
    training.add_argument(
        "--resume", metavar="FILE.npz", help="continue from a checkpoint, as if never stopped"
    )
    training.add_argument(
        "--log", metavar="FILE", help="write every step's figures to FILE.csv or FILE.jsonl"
    )
    training.add_argument(
        "--plot",
        metavar="FILE",
        help="draw the loss curve into FILE.png or FILE.svg (needs matplotlib: the plot extra)",
    )
    training.add_argument("--steps", type=int, metavar="N", help="train N steps (overrides steps/epochs)")
    training.add_argument("--epochs", type=int, metavar="N", help="train N passes over the data")
    training.add_argument("--lr", type=float, metavar="X", help="the base learning rate")
    training.add_argument("--batch-size", type=int, metavar="N", help="rows per step (default: all of them)")
    training.add_argument(
        "--seed", type=int, metavar="N", help="the seed of the shuffling (default: the file's)"
    )
    _chunk_options(training, "each step's minibatch gradient is computed chunk by chunk")
    training.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    training.add_argument("-q", "--quiet", action="store_true", help="no progress lines or bar")

    exporting = _subcommand(
        subcommands,
        "export",
        export_command.export,
        summary="write the circuit as an ONNX model, optionally with its backward pass",
        description="Write the circuit as an ONNX model (float64, opset 18): inputs become the graph's\n"
        "inputs (their shapes from the circuit's values), params initializers, each gate a few\n"
        "standard operators, module uses calls of ONNX local functions. --with-gradients adds the\n"
        "backward pass: outputs grad/LEAF, the gradient of the first output (or --of) for every\n"
        "input and param, as gatekit run gives them. Needs the onnx extra.",
        examples=[
            "gatekit export graphs/neuron.yaml -o neuron.onnx",
            "gatekit export graphs/neuron.yaml -o neuron.onnx --with-gradients",
            "gatekit export graphs/neuron_batch.yaml -o batch.onnx --batch-axis 0 --with-gradients",
            "gatekit export graphs/neuron_modules.yaml -o neuron.onnx --inline-modules",
            "gatekit export graphs/neuron.yaml -o dot.onnx --with-gradients --of dot",
        ],
        parents=[common, circuit_options],
    )
    exporting.add_argument("-o", "--output", required=True, metavar="FILE.onnx", help="the model to write")
    exporting.add_argument(
        "--with-gradients",
        action="store_true",
        help="add the backward pass: an output grad/LEAF for every input and param",
    )
    exporting.add_argument(
        "--of", metavar="NAME", help="with --with-gradients: the gradient of NAME, any output or gate"
    )
    exporting.add_argument(
        "--batch-axis",
        dest="batch_axes",
        action="append",
        default=[],
        metavar="AXIS|NAME=AXIS",
        help="leave this axis of every input that is an array (AXIS), or of input NAME, symbolic: the "
        "model then takes any batch size; repeat for more inputs",
    )
    exporting.add_argument(
        "--inline-modules",
        action="store_true",
        help="write the gates of module uses out instead of ONNX local functions (always so with "
        "--with-gradients)",
    )

    schema = _subcommand(
        subcommands,
        "schema",
        commands.schema,
        summary="print the JSON Schema of the file format, with the installed gates",
        description="Print the JSON Schema (draft 2020-12) of format version 1: every key, every\n"
        "installed gate with its number of inputs and its attributes (plugins' gates included,\n"
        "so it is the schema of this installation). Editors that read JSON Schema (VS Code's\n"
        "YAML extension, any editor with yaml-language-server) then complete and check circuit\n"
        "files that start with the line\n"
        "  # yaml-language-server: $schema=gatekit.schema.json",
        examples=[
            "gatekit schema > gatekit.schema.json",
            "gatekit schema -p my_gates.py > gatekit.schema.json",
        ],
        parents=[common],
    )
    del schema

    drawing = _subcommand(
        subcommands,
        "draw",
        commands.draw,
        summary="draw the circuit with values and gradients on its wires (.dot, .svg, .png, .html)",
        description="Draw the circuit left to right with each wire's forward value (green) and the gradient\n"
        "sent back along it (red). FILE's extension picks the format: .dot is Graphviz text;\n"
        ".svg and .png run Graphviz's `dot` program (the system package graphviz); .html is a\n"
        "page that plays the run gate by gate, forward then back, offline in any browser. Above\n"
        f"{draw.LABEL_LIMIT} gates the wires are left unlabelled. A module use is one node; --expand\n"
        "draws the gates inside, boxed per module use. With --tangent, each wire carries its value\n"
        "and its tangent (blue) instead, and the page plays the forward-mode pass after the forward one.",
        examples=[
            "gatekit draw graphs/neuron.yaml -o neuron.svg",
            "gatekit draw graphs/neuron.yaml -o neuron.html",
            "gatekit draw graphs/neuron_modules.yaml -o neuron.png --expand",
            "gatekit draw graphs/fanout.yaml -o fanout.dot --no-grads --precision 3",
            "gatekit draw graphs/neuron.yaml -o dot.svg --of dot",
            "gatekit draw graphs/neuron.yaml -o neuron.svg --tangent x0=1",
        ],
        parents=[common, circuit_options],
    )
    drawing.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="FILE.dot, FILE.svg, FILE.png or FILE.html"
    )
    drawing.add_argument("--no-grads", action="store_true", help="values only, no gradients")
    _gradient_options(drawing)
    _tangent_option(drawing, "label each wire with its tangent (blue) instead of its gradient")
    drawing.add_argument(
        "--expand",
        action="store_true",
        help="draw every gate inside module uses, boxed per use (default: one node per use)",
    )
    drawing.add_argument(
        "--precision", type=int, default=2, metavar="N", help="decimals shown, 0 to 17 (default 2)"
    )
    _import_command(subcommands, common)
    return parser


def _import_command(subcommands: Any, common: argparse.ArgumentParser) -> None:
    """``gatekit import MODEL.onnx -o CIRCUIT.yaml`` (needs the onnx extra)."""
    command = _subcommand(
        subcommands,
        "import",
        importing.import_model,
        summary="an ONNX model as a circuit file (needs the onnx extra)",
        description="Import an ONNX model as a circuit: graph inputs become inputs (zeros of their shapes,\n"
        "a symbolic dimension as 1), initializers params, each node one gate or a few, the graph\n"
        "outputs the outputs. A node gatekit has no gate for fails the import, naming every such\n"
        "node; nothing is written then. See the README's ONNX section for the operators.",
        examples=[
            "gatekit import model.onnx -o model.yaml",
            "gatekit import model.onnx -o model.yaml && gatekit run model.yaml --inputs data.npz",
        ],
        parents=[common],
    )
    command.add_argument("model", metavar="MODEL", help="an ONNX model file (.onnx)")
    command.add_argument(
        "-o", "--output", required=True, metavar="FILE.yaml", help="write the circuit to FILE.yaml"
    )
