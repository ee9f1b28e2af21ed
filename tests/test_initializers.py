"""Params declared by initializer: seeded, deterministic, the same for every command, right in scale."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import gatekit
from gatekit.format.initializers import INITIALIZERS, Init


def test_every_initializer_draws_its_shape() -> None:
    for kind in INITIALIZERS:
        values = Init(kind, (3, 4)).values(seed=0, name="W")
        assert values.shape == (3, 4) and values.dtype == np.float64, kind
    assert type(Init("normal", ()).values(seed=0, name="b")) is float


def test_the_same_seed_and_name_give_the_same_numbers_and_a_new_param_changes_no_other() -> None:
    one = gatekit.loads("seed: 7\nparams:\n  W: {init: normal, shape: [5]}\noutputs: [W]\n")
    two = gatekit.loads(
        "seed: 7\nparams:\n  V: {init: ones}\n  W: {init: normal, shape: [5]}\noutputs: [W]\n"
    )
    other = gatekit.loads("seed: 8\nparams:\n  W: {init: normal, shape: [5]}\noutputs: [W]\n")
    w = one.run().outputs["W"]
    assert np.array_equal(w, two.run().outputs["W"])
    assert np.array_equal(
        w,
        gatekit.loads("seed: 7\nparams:\n  W: {init: normal, shape: [5]}\noutputs: [W]\n").run().outputs["W"],
    )
    assert not np.array_equal(w, other.run().outputs["W"])


def test_the_seed_may_come_after_the_params() -> None:
    before = gatekit.loads("seed: 3\nparams:\n  W: {init: uniform, shape: [4]}\noutputs: [W]\n")
    after = gatekit.loads("params:\n  W: {init: uniform, shape: [4]}\noutputs: [W]\nseed: 3\n")
    assert np.array_equal(before.run().outputs["W"], after.run().outputs["W"])


@pytest.mark.parametrize(
    ("spec", "check"),
    [
        ("{init: zeros, shape: [3]}", lambda v: (v == 0).all()),
        ("{init: ones, shape: [3]}", lambda v: (v == 1).all()),
        ("{init: constant, value: 2.5, shape: [3]}", lambda v: (v == 2.5).all()),
        ("{init: uniform, low: 2, high: 3, shape: [1000]}", lambda v: (v >= 2).all() and (v < 3).all()),
        (
            "{init: normal, mean: 5, std: 0.1, shape: [1000]}",
            lambda v: abs(v.mean() - 5) < 0.05 and abs(v.std() - 0.1) < 0.02,
        ),
    ],
)
def test_settings_mean_what_they_say(spec: str, check: Any) -> None:
    circuit = gatekit.loads(f"params:\n  W: {spec}\noutputs: [W]\n")
    assert check(circuit.run().outputs["W"])


@pytest.mark.parametrize("kind", ["xavier", "glorot"])
def test_xavier_is_uniform_within_the_glorot_bound(kind: str) -> None:
    values = Init(kind, (200, 300)).values(seed=0, name="W")
    bound = math.sqrt(6 / (200 + 300))
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound


@pytest.mark.parametrize("kind", ["he", "kaiming"])
def test_he_is_normal_with_the_he_std(kind: str) -> None:
    values = Init(kind, (400, 500)).values(seed=0, name="W")
    assert abs(values.std() - math.sqrt(2 / 400)) < 0.002
    assert Init(kind, (400, 500), {"gain": 2.0}).values(seed=0, name="W").std() == pytest.approx(
        2 * values.std()
    )


def test_run_and_explain_start_from_the_same_values() -> None:
    from gatekit.views.trace import trace

    text = (
        "inputs: {x: [1.0, 2.0]}\nparams:\n  w: {init: normal, shape: [2]}\n"
        "gates:\n  y: {gate: mul, in: [w, x]}\noutputs: [y]\n"
    )
    circuit = gatekit.loads(text)
    assert np.array_equal(trace(circuit).result.values["w"], gatekit.loads(text).run().values["w"])
