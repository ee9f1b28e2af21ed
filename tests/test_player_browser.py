"""The player's page played in a real browser: headless Chromium, driven by Playwright.

Every page is made by ``gatekit draw -o FILE.html`` and opened from disk,
offline; each test fails on any console error or request. The numbers the
page shows are checked against ``gatekit explain --json`` and ``gatekit run
--json``. The tests skip without Playwright, Chromium or Graphviz, unless
``GATEKIT_REQUIRE_BROWSER`` (and ``GATEKIT_REQUIRE_GRAPHVIZ``) is set, as
``.ci/run`` does. ``GATEKIT_UPDATE_SCREENSHOT=1`` rewrites ``docs/player.png``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gatekit.cli import main

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = ROOT / "graphs"
SCREENSHOT = ROOT / "docs" / "player.png"
PNG = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("GATEKIT_REQUIRE_GRAPHVIZ"),
    reason="Graphviz's dot is not installed (apt-get install graphviz)",
)

#: what the page shows now, read in one go
READ = """root => {
  const panel = root.querySelector(".gk-step");
  return {
    state: Number(root.dataset.state),
    view: Number(root.dataset.view),
    current: [...root.querySelectorAll("g.node.gk-current")].map(g => g.id),
    node: panel.dataset.node,
    lines: [...panel.querySelectorAll(".gk-line")].map(line => ({
      text: line.textContent,
      numbers: [...line.querySelectorAll(".gk-num")].map(number => number.title),
    })),
  };
}"""


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def chain(gates: int) -> str:
    """A circuit of ``gates`` gates in a row, each third adding the two before it (a wire fans out)."""
    lines = ["inputs: {x: 0.5}", "params: {w: 0.9}", "gates:", "  g1: {gate: mul, in: [x, w]}"]
    for i in range(2, gates + 1):
        written = {
            0: f"add, in: [g{i - 1}, g{i - 2}]",
            1: f"sin, in: [g{i - 1}]",
            2: f"mul, in: [g{i - 1}, 0.5]",
        }
        lines.append(f"  g{i}: {{gate: {written[i % 3]}}}")
    return "\n".join([*lines, f"outputs: [g{gates}]", ""])


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The pages the tests open, made by ``gatekit draw`` once for the module."""
    folder = tmp_path_factory.mktemp("pages")
    (folder / "chain.yaml").write_text(chain(150))
    made = {}
    for name, graph in [
        ("neuron", GRAPHS / "neuron.yaml"),
        ("fanout", GRAPHS / "fanout.yaml"),
        ("modules", GRAPHS / "neuron_modules.yaml"),
        ("batch", GRAPHS / "neuron_batch.yaml"),
        ("chain", folder / "chain.yaml"),
    ]:
        made[name] = folder / f"{name}.html"
        assert main(["draw", str(graph), "-o", str(made[name])]) == 0
    return made


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[Path], Any]]:
    """Open a page offline; when the test ends, no console error and no request but the page's."""
    context = browser.new_context(offline=True, viewport={"width": 1100, "height": 720})
    problems: list[str] = []
    requests: list[str] = []
    opened: list[str] = []

    def open_(path: Path) -> Any:
        page = context.new_page()
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        page.on("request", lambda request: requests.append(request.url))
        opened.append(path.as_uri())
        page.goto(path.as_uri())
        return page

    yield open_
    context.close()
    assert problems == []
    assert requests == opened  # the page itself, and nothing else


def read(page: Any) -> dict[str, Any]:
    state: dict[str, Any] = page.eval_on_selector(".gatekit-player", READ)
    return state


def expected_numbers(row: dict[str, Any], backward: bool) -> list[list[float]]:
    """The full values a step's lines show, line by line, from ``explain --json``'s row."""
    if not backward:
        named = [put["value"] for put in row["inputs"] if isinstance(put["source"], str)]
        return [[*named, row["output"]]]
    lines = [[row["upstream"]]]
    for wire in row["wires"]:
        line = [wire["local"], wire["local"], row["upstream"], wire["product"]]
        if wire["after"] is not None:
            line += [wire["before"], wire["product"], wire["after"]]
        lines.append(line)
    return lines


def expected_tangent_numbers(row: dict[str, Any]) -> list[list[float]]:
    """The full values a forward-mode step's lines show, from ``explain --tangent --json``'s row."""
    heads: dict[str, float] = {}  # the moving inputs' tangents, each node once
    for wire in row["wires"]:
        if wire["tangent"] is not None and isinstance(wire["source"], str):
            heads.setdefault(wire["source"], wire["tangent"])
    lines = [list(heads.values())]
    for wire in row["wires"]:
        if wire["tangent"] is None:  # does not move: its local gradient, and nothing added
            lines.append([wire["local"]])
        else:
            times = [wire["local"], wire["tangent"], wire["product"]]  # local * tangent = product
            lines.append([wire["local"], *times, wire["before"], wire["product"], wire["after"]])
    return lines


# -- the neuron, step by step ------------------------------------------------------------------


def test_every_step_shows_explain_jsons_row(pages, open_page, capsys):
    explained = cli_json(capsys, "explain", str(GRAPHS / "neuron.yaml"), "--json")
    rows = [(row, False) for row in explained["forward"]] + [(row, True) for row in explained["backward"]]
    page = open_page(pages["neuron"])
    start = read(page)
    assert (start["state"], start["current"], start["node"]) == (0, [], "")
    assert start["lines"][0]["text"] == "inputs and params: x0=-1, x1=-2, w0=2, w1=-3, w2=-3"
    assert page.locator(".gk-no-value text.gk-value").count() == 7  # the wires out of gates: none run yet
    for state, (row, backward) in enumerate(rows, start=1):
        page.keyboard.press("ArrowRight")
        shown = read(page)
        assert shown["state"] == state
        assert shown["current"] == [f"gk-n-{row['node']}"] == [f"gk-n-{shown['node']}"]
        numbers = [[float(number) for number in line["numbers"]] for line in shown["lines"]]
        assert numbers == expected_numbers(row, backward), state
        if not backward:  # the explain line, output in green
            assert page.locator(f'[id="gk-n-{row["node"]}"]').get_attribute("class") == "node gk-current"
            assert page.locator(".gk-step .gk-forward").count() == 1
    assert (
        read(page)["lines"][-1]["text"]
        == "d wx0/d x0 = 2   2 * 0.1966 = 0.3932   grad[x0]: 0 + 0.3932 = 0.3932"
    )
    assert page.locator(".gk-no-value, .gk-no-grad").count() == 0  # every label shows at the end


def test_the_last_state_is_run_jsons(pages, open_page, capsys):
    run = cli_json(capsys, "run", str(GRAPHS / "neuron.yaml"), "--json")
    page = open_page(pages["neuron"])
    page.keyboard.press("End")
    assert read(page)["state"] == 14
    for name, value in run["values"].items():
        page.click(f'[id="gk-n-{name}"]')
        details = page.locator(".gk-details")
        assert details.get_attribute("data-node") == name
        assert float(details.locator(".gk-row-value .gk-num").get_attribute("title")) == value
        if name in run["grads"]:
            assert float(details.locator(".gk-row-grad .gk-num").get_attribute("title")) == run["grads"][name]
        assert page.locator(f'[id="gk-n-{name}"] text.gk-badge').text_content().startswith("grad ")
    page.click('[id="gk-n-wx0"]')
    assert page.locator(".gk-row-locals").inner_text().split("\n")[1:] == [
        "d wx0/d w0 = -1",
        "d wx0/d x0 = 2",
    ]
    page.keyboard.press("Home")  # back at the start: the gate's value is not there yet
    assert page.locator(".gk-row-value .gk-hint").inner_text() == "not computed yet (step 1)"
    assert page.locator(".gk-row-locals").count() == 0


def test_the_keyboard_the_buttons_and_the_slider_move_through_the_run(pages, open_page):
    page = open_page(pages["neuron"])
    for key, state in [
        ("ArrowRight", 1),
        ("ArrowRight", 2),
        ("ArrowLeft", 1),
        ("End", 14),
        ("ArrowRight", 14),
    ]:
        page.keyboard.press(key)
        assert read(page)["state"] == state, key
    page.keyboard.press("Home")
    page.keyboard.press("ArrowLeft")
    assert read(page)["state"] == 0
    page.select_option(".gk-speed", "16")
    page.keyboard.press(" ")  # play
    page.wait_for_function("() => Number(document.querySelector('.gatekit-player').dataset.state) >= 3")
    page.keyboard.press(" ")  # pause
    paused = read(page)["state"]
    page.wait_for_timeout(300)
    assert read(page)["state"] == paused < 14
    page.click("button[title^='play']")  # the button, then space while it has the focus: once each
    page.keyboard.press(" ")
    assert page.locator(".gatekit-player").get_attribute("data-playing") == ""
    page.click("button[title^='to the end']")
    assert read(page)["state"] == 14 and page.locator("button[title^='one step forward']").is_disabled()
    page.click("button[title^='one step back']")
    assert read(page)["state"] == 13
    page.click("button[title^='back to the start']")
    assert read(page)["state"] == 0
    slider = page.locator(".gk-slider")
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    assert read(page)["state"] == 14 == int(slider.input_value())
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    middle = read(page)
    assert 4 <= middle["state"] <= 10 and middle["state"] == int(slider.input_value())
    assert middle["current"] == [f"gk-n-{middle['node']}"] and middle["node"]
    page.keyboard.press("ArrowRight")  # the slider has the focus: one step, not two
    assert read(page)["state"] == middle["state"] + 1


def test_fan_out_sums_appear_in_order(pages, open_page):
    page = open_page(pages["fanout"])
    sums, badges = [], []
    for _ in range(8):
        page.keyboard.press("ArrowRight")
        sums += [line["text"].split("   ")[-1] for line in read(page)["lines"] if "grad[x]" in line["text"]]
        badges.append(page.locator('[id="gk-n-x"] text.gk-badge').text_content())
    assert sums == ["grad[x]: 0 + 1 = 1", "grad[x]: 1 + 3 = 4", "grad[x]: 4 + 3 = 7"]
    assert badges == [""] * 6 + ["grad 1", "grad 7"]  # xy's step back, then xx's two wires in one step


def test_an_array_shows_its_shape_mean_min_and_max(pages, open_page):
    page = open_page(pages["batch"])
    page.click('[id="gk-n-x0"]')
    assert page.locator(".gk-row-value .gk-array").inner_text() == "shape (3), mean 0.5, min -1, max 2"
    assert page.locator(".gk-row-value .gk-num").inner_text() == "[-1, 0.5, 2]"
    page.keyboard.press("End")
    grad = page.locator(".gk-row-grad")
    assert grad.locator(".gk-num").get_attribute("title").startswith("array(3,) [0.3932238664829637")
    assert grad.locator(".gk-array").inner_text().startswith("shape (3), mean ")


def test_a_module_use_opens_in_place(pages, open_page):
    page = open_page(pages["modules"])
    page.keyboard.press("ArrowRight")  # the whole module, forward
    assert read(page)["lines"][0]["text"] == "neuron2(x0=-1, x1=-2, w0=2, w1=-3, w2=-3) = 0.7311"
    page.click('[id="gk-n-f"]')
    assert page.locator('[id="gk-c-f"]').count() == 0
    page.click(".gk-details button:text('open')")
    opened = read(page)
    assert (opened["view"], opened["state"], opened["node"]) == (1, 7, "f")  # its last gate: the same state
    assert page.locator('[id="gk-c-f"]').count() == 1 and page.locator('[id="gk-n-f/out/e"]').count() == 1
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert read(page)["current"] == ["gk-n-f/out/e"]
    assert read(page)["lines"][1]["text"].startswith("d (f/out/e)/d (f/out/n) = 0.3679")
    page.keyboard.press("End")
    assert read(page)["state"] == 14
    page.click(".gk-opened button")  # close: the module as one box, at the same state
    closed = read(page)
    assert (closed["view"], closed["state"]) == (0, 2) and page.locator('[id="gk-c-f"]').count() == 0


def test_a_circuit_of_150_gates_plays(pages, open_page):
    page = open_page(pages["chain"])
    page.keyboard.press("End")
    assert read(page)["state"] == 300
    page.keyboard.press("Home")
    for _ in range(300):
        page.keyboard.press("ArrowRight")
    last = read(page)
    assert (last["state"], last["current"]) == (300, ["gk-n-g1"])
    assert (
        page.locator("g.node[id^='gk-n-']").count() == 152
        and page.locator(".gk-no-value, .gk-no-grad").count() == 0
    )


def test_two_players_in_one_notebook_play_apart(browser, open_page, tmp_path):
    import gatekit

    results = [gatekit.load(GRAPHS / "neuron.yaml").run(x0=x0) for x0 in (-1.0, 3.0)]
    cells = "".join(f'<div class="cell">{result._repr_html_()}</div>' for result in results)
    notebook = tmp_path / "notebook.html"
    notebook.write_text(f"<!DOCTYPE html><html><body>{cells}</body></html>")
    page = open_page(notebook)
    first, second = page.locator(".gatekit-player").all()
    first.click(position={"x": 5, "y": 60})
    page.keyboard.press("End")
    assert first.get_attribute("data-state") == "14" and second.get_attribute("data-state") == "0"
    second.locator('[id="gk-n-x0"]').click()
    assert second.locator(".gk-row-value .gk-num").get_attribute("title") == "3.0"
    assert first.locator(".gk-details").get_attribute("data-node") == ""


def test_the_screenshot_in_the_readme(pages, open_page, tmp_path):
    page = open_page(pages["neuron"])
    for _ in range(11):  # back through neg: dot's gradient has come
        page.keyboard.press("ArrowRight")
    page.click('[id="gk-n-dot"]')
    target = SCREENSHOT if os.environ.get("GATEKIT_UPDATE_SCREENSHOT") else tmp_path / "player.png"
    page.locator(".gatekit-player").screenshot(path=str(target))
    assert target.read_bytes().startswith(PNG)
    assert SCREENSHOT.read_bytes().startswith(PNG)  # committed; only its presence is checked, not its pixels


def test_forward_mode_steps_show_explain_tangent_jsons_rows(open_page, capsys, tmp_path):
    out = tmp_path / "tangent.html"
    assert main(["draw", str(GRAPHS / "neuron.yaml"), "--tangent", "x0=1", "-o", str(out)]) == 0
    explained = cli_json(capsys, "explain", str(GRAPHS / "neuron.yaml"), "--tangent", "x0=1", "--json")
    page = open_page(out)
    assert page.locator(".gk-heading").inner_text() == "neuron: values and tangents along x0=1, gate by gate"
    for _ in explained["forward"]:
        page.keyboard.press("ArrowRight")
    assert read(page)["state"] == 7
    for state, row in enumerate(explained["tangent"], start=8):
        page.keyboard.press("ArrowRight")
        shown = read(page)
        assert shown["state"] == state
        assert shown["current"] == [f"gk-n-{row['node']}"] == [f"gk-n-{shown['node']}"]
        numbers = [[float(number) for number in line["numbers"]] for line in shown["lines"]]
        assert numbers == expected_tangent_numbers(row), state
        assert page.get_attribute(".gatekit-player", "data-pass") == "tangent"
        title = page.locator(".gk-step .gk-title").inner_text()
        assert title.startswith(f"forward mode (tangents along x0=1), step {state}: {row['node']}")
    assert read(page)["state"] == 7 + len(explained["tangent"]) == 13
    page.keyboard.press("ArrowRight")  # the last step: nothing further
    assert read(page)["state"] == 13
    assert read(page)["lines"][-1]["text"] == (
        "d f/d den = -0.5344   -0.5344 * -0.7358 = 0.3932   tan[f]: 0 + 0.3932 = 0.3932"
    )
    assert read(page)["lines"][-1]["numbers"][-1] == "0.39322386648296376"
    assert explained["tangents"]["f"] == 0.39322386648296376
    page.click('[id="gk-n-f"]')
    details = page.locator(".gk-details")
    assert details.locator(".gk-row-tangent .gk-num").get_attribute("title") == "0.39322386648296376"
    assert page.locator('[id="gk-n-f"] text.gk-badge').text_content() == "tan 0.3932"
    assert page.locator(".gk-no-value, .gk-no-grad").count() == 0  # every label shows at the end
    assert page.locator("text.gk-grad").count() == 12  # the tangents, blue: 14 wires less 2 constants


def test_a_module_use_plays_its_forward_mode_pass_in_one_step_or_opened(open_page, capsys, tmp_path):
    out = tmp_path / "modules-tangent.html"
    assert main(["draw", str(GRAPHS / "neuron_modules.yaml"), "--tangent", "x0=1", "-o", str(out)]) == 0
    run = cli_json(capsys, "run", str(GRAPHS / "neuron_modules.yaml"), "--tangent", "x0=1", "--json")
    page = open_page(out)
    page.keyboard.press("End")  # the module forward, then its tangent in one step
    shown = read(page)
    assert (shown["state"], shown["node"]) == (2, "f")
    assert shown["lines"][1]["text"] == (
        "d f: through neuron2   through neuron2(tan[x0]) = 0.3932   tan[f] = 0.3932"  # as explain writes it
    )
    assert float(shown["lines"][1]["numbers"][-1]) == run["tangents"]["f"]
    page.click('[id="gk-n-f"]')
    page.click(".gk-details button:text('open')")
    opened = read(page)
    assert opened["view"] == 1 and opened["node"] == "f"
    assert opened["lines"][-1]["text"].endswith("= 0.3932")  # the use's last gate, its tangent
    assert float(opened["lines"][-1]["numbers"][-1]) == run["tangents"]["f"]
    page.keyboard.press("ArrowLeft")
    assert page.get_attribute(".gatekit-player", "data-pass") == "tangent"
