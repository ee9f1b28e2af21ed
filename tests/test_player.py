"""The player's page and data (:mod:`gatekit.views.player`), read in Python.

The data must say what ``gatekit explain`` says, step by step: the same
lines, and numbers whose full values are ``explain --json``'s. The page
must hold everything it needs and fetch nothing. The page played in a real
browser is ``tests/test_player_browser.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gatekit
from gatekit.cli import main
from gatekit.views import player
from gatekit.views.explain import explain_json, explain_lines
from gatekit.views.player.steps import line_text, main_states, shown, view_data
from gatekit.views.trace import collapse, trace

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = ROOT / "graphs"
NEURON = str(GRAPHS / "neuron.yaml")
HAVE_DOT = shutil.which("dot") is not None

needs_dot = pytest.mark.skipif(
    not HAVE_DOT and not os.environ.get("GATEKIT_REQUIRE_GRAPHVIZ"),
    reason="Graphviz's dot is not installed (apt-get install graphviz)",
)

DATA = re.compile(r'<script type="application/json" class="gk-data">(.*?)</script>', re.S)


def fake_dot(folder: Path, body: str) -> str:
    """A ``dot`` program of our own, a shell script in ``folder``; the ``PATH`` that finds it first."""
    folder.mkdir(exist_ok=True)
    program = folder / "dot"
    program.write_text("#!/bin/sh\n" + body + "\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return os.pathsep.join([str(folder), os.environ.get("PATH", "")])


def one_error(capsys: pytest.CaptureFixture[str], argv: list[str], exit_code: int = 2) -> str:
    """Run the command line in-process: it fails with ``exit_code`` and one ``error:`` line."""
    assert main(argv) == exit_code
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("error: ")
    return line


def page_data(text: str) -> dict[str, Any]:
    """The data inlined in a page or a fragment."""
    match = DATA.search(text)
    assert match, "no data in the page"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def numbers(line: list[Any]) -> list[float]:
    """The full values of a line's numbers, in order."""
    return [float(piece["full"]) for piece in line if not isinstance(piece, str)]


def normal(text: str) -> str:
    return " ".join(text.split())


def explained_rows(circuit: gatekit.Circuit, expand: bool) -> list[str]:
    """``gatekit explain``'s rows (gates, and the wires under the backward ones), spaces squeezed."""
    lines = explain_lines(circuit, trace(circuit), expand=expand)
    end = lines.index("", lines.index("") + 1) if lines.count("") > 1 else len(lines)
    rows: list[str] = []
    for line in lines[:end]:
        if line.startswith(" " * 9) and rows:  # a long wire row, a line per cell
            rows[-1] += "   " + line
        elif re.match(r"^ {2,8}\d+  |^ {7}d ", line):  # a gate (numbered), a wire under it
            rows.append(line)
    return [normal(row) for row in rows]


def player_rows(view: dict[str, Any]) -> list[str]:
    """The same rows from the player's steps: the step's number, node and gate, then its lines."""
    numbered: dict[str, int] = {}
    rows = []
    for step in view["steps"]:
        if step["pass"] == "forward":
            numbered[step["node"]] = len(numbered) + 1
        within = " [" + " > ".join(f"{p}: {m}" for p, m in step["within"]) + "]" if "within" in step else ""
        head, *wires = step["lines"]
        rows.append(
            normal(f"{numbered[step['node']]} {step['node']} {step['gate']} {line_text(head)}{within}")
        )
        rows += [normal(line_text(line)) for line in wires]
    return rows


# -- the steps say what explain says --------------------------------------------------------


@pytest.mark.parametrize(
    ("graph", "expand"),
    [
        ("neuron.yaml", False),
        ("fanout.yaml", False),
        ("neuron_batch.yaml", False),
        ("neuron_modules.yaml", False),
        ("neuron_modules.yaml", True),
        ("moons.yaml", False),
    ],
)
def test_the_steps_are_explains_rows(graph, expand):
    circuit = gatekit.load(GRAPHS / graph)
    run = trace(circuit)
    view = view_data(circuit, run if expand else collapse(run))
    assert player_rows(view) == explained_rows(circuit, expand)


@pytest.mark.parametrize("graph", ["neuron.yaml", "fanout.yaml"])
def test_the_numbers_are_explain_jsons_at_full_precision(graph):
    circuit = gatekit.load(GRAPHS / graph)
    recorded = trace(circuit)
    rows = explain_json(recorded)
    steps = view_data(circuit, recorded)["steps"]
    assert len(steps) == len(rows["forward"]) + len(rows["backward"])
    for step, row in zip(steps, rows["forward"], strict=False):
        named = [put["value"] for put in row["inputs"] if isinstance(put["source"], str)]
        assert (step["pass"], step["node"], step["gate"]) == ("forward", row["node"], row["gate"])
        assert numbers(step["lines"][0]) == [*named, row["output"]]
    for step, row in zip(steps[len(rows["forward"]) :], rows["backward"], strict=True):
        assert (step["pass"], step["node"], step["gate"]) == ("backward", row["node"], row["gate"])
        head, *lines = step["lines"]
        assert numbers(head) == [row["upstream"]]
        for line, wire in zip(lines, row["wires"], strict=True):
            expected = [wire["local"], wire["local"], row["upstream"], wire["product"]]
            if wire["after"] is not None:
                expected += [wire["before"], wire["product"], wire["after"]]
            assert numbers(line) == expected


def test_fan_out_sums_grow_in_order():
    circuit = gatekit.load(GRAPHS / "fanout.yaml")
    view = view_data(circuit, trace(circuit))
    added = [
        line_text(line).split("   ")[-1]
        for step in view["steps"]
        for line in step["lines"][1:]
        if "grad[x]" in line_text(line)
    ]
    assert added == ["grad[x]: 0 + 1 = 1", "grad[x]: 1 + 3 = 4", "grad[x]: 4 + 3 = 7"]
    history = [(at, value["text"]) for at, value in view["nodes"]["x"]["grads"]]
    assert history == [(7, "1"), (8, "4"), (8, "7")]  # xy's step, then xx's two wires


def test_states_say_when_each_thing_shows():
    circuit = gatekit.load(NEURON)
    view = view_data(circuit, trace(circuit))
    nodes, wires = view["nodes"], {wire["id"]: wire for wire in view["wires"]}
    assert [view["nodes"][name]["value_at"] for name in ("x0", "wx0", "dot", "f")] == [0, 1, 3, 7]
    assert nodes["x0"]["back_at"] is None and nodes["wx0"]["back_at"] == 14  # the last step
    assert nodes["f"]["grads"] == [[8, {"text": "1", "full": "1.0"}]]  # the seed, at the first step back
    assert wires["w-0-dot"] == {"id": "w-0-dot", "value_at": 1, "grad_at": 12}  # wx0 -> dot
    assert wires["w-1-neg"] == {"id": "w-1-neg", "value_at": 0, "grad_at": 11}  # the constant -1
    assert wires["o-f"] == {"id": "o-f", "value_at": 7, "grad_at": 8}
    assert [line_text(line) for line in nodes["neg"]["locals"]] == ["d neg/d dot = -1", "d neg/d (-1) = 1"]
    assert line_text(view["start"]) == "inputs and params: x0=-1, x1=-2, w0=2, w1=-3, w2=-3"


def test_without_grads_only_the_forward_pass_plays():
    circuit = gatekit.load(NEURON)
    view = view_data(circuit, trace(circuit), grads=False)
    assert [step["pass"] for step in view["steps"]] == ["forward"] * 7
    assert all(wire["grad_at"] is None for wire in view["wires"])
    assert all(not node["grads"] for node in view["nodes"].values())


def test_an_array_shows_its_shape_mean_min_and_max():
    circuit = gatekit.load(GRAPHS / "neuron_batch.yaml")
    batch = {"x0": np.linspace(-1.0, 1.0, 200), "x1": np.linspace(0.0, 2.0, 200)}
    x0 = view_data(circuit, trace(circuit, batch))["nodes"]["x0"]["value"]
    assert x0["shape"] == [200]
    assert x0["text"].startswith("<array(200,) mean ")
    assert x0["full"].startswith("array(200,)  min ")
    assert float(x0["min"]) <= float(x0["mean"]) <= float(x0["max"])
    assert shown(float("nan")) == {"text": "nan", "full": "NaN"}
    small = shown(np.array([1.0, float("inf")]))
    assert small["full"] == "array(2,) [1.0, Infinity]" and small["max"] == "inf"
    empty = shown(np.zeros((0, 2)))
    assert empty["shape"] == [0, 2] and empty["mean"] == "nan"


def test_a_view_with_a_module_opened_maps_onto_the_main_one():
    circuit = gatekit.load(GRAPHS / "neuron_modules.yaml")
    run = trace(circuit)
    main = view_data(circuit, collapse(run))["steps"]
    opened = view_data(circuit, collapse(run, {"f"}))["steps"]
    assert [step["node"] for step in main] == ["f", "f"]
    assert len(opened) == 14 and opened[6]["node"] == "f" and opened[0]["within"] == [["f", "neuron2"]]
    # the use's gates stand for the state before it, until its output; back, for the use's step
    assert main_states(main, opened) == [0, 0, 0, 0, 0, 0, 0, 1, *[2] * 7]


# -- the page -----------------------------------------------------------------------------


@needs_dot
def test_draw_writes_a_page_that_holds_everything(tmp_path, capsys):
    out = tmp_path / "neuron.html"
    assert main(["draw", NEURON, "-o", str(out)]) == 0
    assert capsys.readouterr() == ("", "")
    assert os.listdir(tmp_path) == ["neuron.html"]  # no temporary file left
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert f'content="{player.document.POLICY}"' in text and "default-src 'none'" in text
    assert "<svg" in text and 'id="gk&#45;n&#45;wx0"' in text  # the drawing, its nodes named
    assert re.findall(r'\b(?:src|href)="([^"]*)"', text) == ["data:,"]  # nothing to fetch
    assert "function player(root)" in text and ".gatekit-player .gk-bar" in text  # script and style
    data = page_data(text)
    assert (data["format"], data["version"], data["title"], data["root"]) == (
        "gatekit-player",
        2,
        "neuron",
        "f",
    )
    [view] = data["views"]
    assert view["opened"] is None and len(view["steps"]) == 14 and view["main"] == list(range(15))


@needs_dot
def test_draw_html_takes_draws_options(tmp_path, capsys):
    out = tmp_path / "g.html"
    args = ["draw", NEURON, "-o", str(out), "--set", "x0=3", "--no-grads", "--precision", "3"]
    assert main(args) == 0
    text = out.read_text()
    [view] = page_data(text)["views"]
    assert [step["pass"] for step in view["steps"]] == ["forward"] * 7
    assert view["nodes"]["x0"]["value"]["full"] == "3.0"
    assert ">3.000<" in text and 'fill="red"' not in text.split("<svg", 1)[1].split("gk&#45;n&#45;x0")[1]
    batch = ["--inputs", str(GRAPHS / "data" / "neuron_batch.csv")]
    assert main(["draw", str(GRAPHS / "neuron_batch.yaml"), "-o", str(out), *batch]) == 0
    [view] = page_data(out.read_text())["views"]
    assert view["nodes"]["x0"]["value"]["shape"] == [200]
    assert "shape" not in view["nodes"]["w0"]["grads"][-1][1]  # summed over the batch: a number


@needs_dot
def test_each_module_use_can_be_opened_in_a_view_of_its_own(tmp_path, capsys):
    out = tmp_path / "m.html"
    assert main(["draw", str(GRAPHS / "neuron_modules.yaml"), "-o", str(out)]) == 0
    text = out.read_text()
    views = page_data(text)["views"]
    assert [view["opened"] for view in views] == [None, "f"]
    assert text.count("</template>") == 1
    assert 'id="gk&#45;c&#45;f"' in text.split('<template class="gk-view">')[1]  # the use's box
    assert main(["draw", str(GRAPHS / "neuron_modules.yaml"), "-o", str(out), "--expand"]) == 0
    [view] = page_data(out.read_text())["views"]
    assert len(view["steps"]) == 14 and "</template>" not in out.read_text()


@needs_dot
def test_at_most_open_limit_uses_get_views(write_yaml, monkeypatch):
    uses = "\n".join(f"  g{i}: {{gate: sq, in: [x]}}" for i in range(4))
    circuit = gatekit.load(
        write_yaml(
            "inputs: {x: 3.0}\nmodules:\n"
            "  sq: {inputs: [a], gates: {out: {gate: mul, in: [a, a]}}, outputs: [out]}\n"
            f"gates:\n{uses}\n  f: {{gate: add, in: [g0, g1, g2, g3]}}\noutputs: [f]\n"
        )
    )
    monkeypatch.setattr(player.document, "OPEN_LIMIT", 2)
    data, drawings = player.player_data(circuit)
    assert [view["opened"] for view in data["views"]] == [None, "g0", "g1"] and len(drawings) == 3


def test_the_data_cannot_end_the_script_early():
    assert player.document._script_json({"a": "</script><!--"}) == '{"a":"\\u003c/script>\\u003c!--"}'
    for name in ("player.js", "player.css"):
        text = player.document._asset(name)
        assert "</script" not in text.lower() and "</style" not in text.lower(), name


@needs_dot
def test_a_failing_dot_leaves_the_existing_page_untouched(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", fake_dot(tmp_path / "bin", 'echo "Error: out of memory" >&2\nexit 1'))
    out = tmp_path / "out" / "neuron.html"
    out.parent.mkdir()
    out.write_text("the previous page")
    line = one_error(capsys, ["draw", NEURON, "-o", str(out)], exit_code=1)
    assert line == f"error: {out}: Graphviz's dot failed (exit 1): Error: out of memory"
    assert out.read_text() == "the previous page" and os.listdir(out.parent) == ["neuron.html"]


def test_a_page_needs_dot_and_says_so_before_running(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "g.html"
    line = one_error(capsys, ["draw", str(tmp_path / "missing.yaml"), "-o", str(out)])
    assert line.startswith(f"error: {out}: Graphviz's `dot` program was not found on PATH; install")
    assert not out.exists()


def test_the_library_writes_pages_only(tmp_path):
    with pytest.raises(gatekit.GatekitError, match=r"unsupported file type '\.svg'; .* to \.html only"):
        player.write(tmp_path / "g.svg", gatekit.load(NEURON))
    with pytest.raises(gatekit.GatekitError, match=r"unsupported file type '\.html'; .* \.png only"):
        gatekit.views.draw.write(tmp_path / "g.html", gatekit.load(NEURON))  # draw.write: drawings
    assert os.listdir(tmp_path) == []


@needs_dot
def test_a_failing_gate_writes_no_page(tmp_path, capsys, importable_plugins, write_yaml):
    graph = write_yaml("inputs: {x: 1.0}\ngates:\n  y: {gate: boom, in: [x]}\noutputs: [y]\n")
    out = tmp_path / "boom.html"
    line = one_error(capsys, ["draw", "-p", "gk_boom", str(graph), "-o", str(out)], exit_code=1)
    assert "gate 'y'" in line and "kaboom" in line
    assert not out.exists()


# -- notebooks -----------------------------------------------------------------------------


@needs_dot
def test_a_result_shows_the_player_in_a_notebook():
    result = gatekit.load(NEURON).run(x0=3.0)
    fragment = result._repr_html_()
    assert fragment is not None and fragment.startswith('<div class="gatekit-player" tabindex="0">')
    assert "<html" not in fragment and "data-standalone" not in fragment
    [view] = page_data(fragment)["views"]
    assert view["nodes"]["x0"]["value"]["full"] == "3.0"  # this run's values


def test_without_dot_a_notebook_falls_back_to_the_picture_or_the_text(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = gatekit.load(NEURON).run()
    assert result._repr_html_() is None and result._repr_svg_() is None  # Jupyter shows the text
    monkeypatch.setenv("PATH", fake_dot(tmp_path / "bin", "exit 3"))
    assert result._repr_html_() is None  # dot failed


def test_a_large_circuit_gets_no_notebook_player(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", fake_dot(tmp_path / "bin", "cat"))
    monkeypatch.setattr(gatekit.views.draw, "NOTEBOOK_LIMIT", 3)
    assert gatekit.load(NEURON).run()._repr_html_() is None


def test_the_readme_shows_the_player():
    readme = (ROOT / "README.md").read_text()
    assert "gatekit draw graphs/neuron.yaml -o neuron.html" in readme
    assert "](docs/player.png)" in readme
    picture = ROOT / "docs" / "player.png"
    assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize("graph", ["neuron.yaml", "neuron_modules.yaml", "fanout.yaml"])
def test_tangent_steps_say_what_explain_tangent_says(graph):
    circuit = gatekit.load(str(GRAPHS / graph))
    tangents = {circuit.inputs[0]: 1.0}
    run = trace(circuit, tangents=tangents)
    view = view_data(circuit, collapse(run), grads=False)
    steps = [step for step in view["steps"] if step["pass"] == "tangent"]
    forward = len(collapse(run).forward)
    assert [step["pass"] for step in view["steps"]] == ["forward"] * forward + ["tangent"] * len(steps)
    written = explain_lines(circuit, run)
    first = written.index("") + 1  # the forward-mode pass, after the forward one
    text = [" ".join(line.split()) for line in written[first:]]
    rows = explain_json(run)["tangent"]
    assert [step["node"] for step in steps] == [row["node"] for row in rows]
    for step, row in zip(steps, rows, strict=True):
        head = line_text(step["lines"][0])  # the inputs' tangents, at the end of the gate's own line
        assert any(line.endswith(f"{row['node']} {row['gate']} {head}") for line in text), head
        for line in step["lines"][1:]:
            assert " ".join(line_text(line).split()) in text, line_text(line)
        assert view["nodes"][row["node"]]["tangents"][-1][1]["full"] == repr(float(row["tangent"]))
    final = run.result.tangents[circuit.outputs[0]]
    assert view["nodes"][circuit.outputs[0]]["tangents"][-1][1]["full"] == repr(final)


def test_tangents_no_gate_reads_show_at_the_end_of_the_forward_pass():
    circuit = gatekit.loads("inputs: {x: 2.0, y: 3.0}\ngates:\n  a: {gate: mul, in: [x, x]}\noutputs: [a]")
    view = view_data(circuit, trace(circuit, tangents={"y": 1.0}), grads=False)
    assert [step["pass"] for step in view["steps"]] == ["forward"]  # y moves, but no gate reads it
    assert view["nodes"]["a"]["tangents"] == [[1, {"text": "0", "full": "0.0"}]]
    assert view["nodes"]["y"]["tangents"] == [[1, {"text": "1", "full": "1.0"}]]
    assert {wire["id"]: wire["grad_at"] for wire in view["wires"]} == {"w-0-a": 1, "w-1-a": 1, "o-a": 1}
