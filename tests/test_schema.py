"""The JSON Schema of the format: current, valid, true of every example, and it catches what it can."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import gatekit
from gatekit.cli import main
from gatekit.views.schema import SHIPPED, circuit_schema

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = circuit_schema(gatekit.default_registry())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def problems(validator: jsonschema.Draft202012Validator, text: str) -> list[str]:
    return [error.message for error in validator.iter_errors(yaml.safe_load(text))]


def test_the_shipped_schema_is_the_built_in_gates_schema() -> None:
    assert json.loads(SHIPPED.read_text()) == circuit_schema(gatekit.default_registry(autoload=False))


def test_gatekit_schema_prints_the_installed_gates_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == circuit_schema(gatekit.default_registry())
    names = {rule["if"]["properties"]["gate"]["const"] for rule in printed["$defs"]["gate"]["allOf"]}
    assert set(gatekit.default_registry()) == names  # plugins' gates (silu, from plugins/activations) too


@pytest.mark.parametrize("path", sorted(ROOT.joinpath("graphs").rglob("*.yaml")), ids=lambda p: p.name)
def test_every_example_graph_is_valid(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    assert problems(validator, path.read_text()) == []


def readme_yaml() -> list[str]:
    return [block for block in re.findall(r"```yaml\n(.*?)```", README, re.S) if "[project" not in block]


@pytest.mark.parametrize("block", readme_yaml(), ids=lambda b: b.splitlines()[0][:40])
def test_every_yaml_example_of_the_readme_is_valid(
    validator: jsonschema.Draft202012Validator, block: str
) -> None:
    assert problems(validator, block) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("inputs: {x: 1}\noutput: [x]\n", "'output' was unexpected"),
        ("inputs: {x: 1}\ngates:\n  y: {gate: exp, in: [x, x]}\noutputs: [y]\n", "is too long"),
        (
            "inputs: {x: 1}\ngates:\n  y: {gate: leaky_relu, in: [x], attrs: {slop: 0.1}}\noutputs: [y]\n",
            "'slop'",
        ),
        (
            "inputs: {x: 1}\ngates:\n  y: {gate: leaky_relu, in: [x], attrs: {slope: high}}\noutputs: [y]\n",
            "'high'",
        ),
        ("inputs: {x-1: 1}\noutputs: [x]\n", "'x-1'"),
        ("inputs: {x: [[1, 2], text]}\noutputs: [x]\n", "'text'"),
        (
            "inputs: {x: 1}\ngates:\n  y: {gate: neg, in: [x], attr: {}}\noutputs: [y]\n",
            "'attr' was unexpected",
        ),
    ],
    ids=["unknown-key", "arity", "unknown-attr", "attr-type", "bad-name", "not-a-number", "gate-key"],
)
def test_the_schema_catches_what_an_editor_can(validator: Any, text: str, words: str) -> None:
    found = problems(validator, text)
    assert found and any(words in message for message in found), found


def test_the_readme_shows_how_an_editor_reads_it() -> None:
    assert "# yaml-language-server: $schema=" in README
    assert "gatekit schema > gatekit.schema.json" in README
