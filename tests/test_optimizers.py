"""Optimizers and schedules: PyTorch's numbers, resuming bit for bit, settings, registration.

``tests/reference/optimizers_torch.json`` holds PyTorch's own runs, made by
``tests/reference/make_optimizer_reference.py`` (which needs torch; these
tests do not): every optimizer and schedule must follow them step by step,
to 1e-12 relative.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import sys
import textwrap
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gatekit.errors import PluginError
from gatekit.plugin.registry import GateRegistry, plugin_manager
from gatekit.training.optimizers import Optimizer
from gatekit.training.registry import optimizer_registry, schedule_registry
from gatekit.training.schedules import Schedule, Warmup
from gatekit.training.settings import Setting, resolve

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
REFERENCE = json.loads((REFERENCE_DIR / "optimizers_torch.json").read_text(encoding="utf-8"))
OPTIMIZER_CASES = REFERENCE["optimizers"]
SCHEDULE_CASES = REFERENCE["schedules"]

#: Agreement with PyTorch: relative, with a floor for values that pass close to zero.
RELATIVE = 1e-12
ABSOLUTE = 1e-15


def _reference_module() -> types.ModuleType:
    """The reference script, for its problem (it imports torch only when run)."""
    spec = importlib.util.spec_from_file_location(
        "make_optimizer_reference", REFERENCE_DIR / "make_optimizer_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROBLEM = _reference_module()
OPTIMIZERS = optimizer_registry(plugin_manager(autoload=False))
SCHEDULES = schedule_registry(plugin_manager(autoload=False))


def defaults(kind: type[Optimizer] | type[Schedule] | type[Warmup]) -> dict[str, float]:
    return resolve(kind.settings, {}, kind.__name__)


def run(optimizer: Optimizer, params: dict[str, np.ndarray], steps: range) -> Iterator[dict[str, np.ndarray]]:
    """Take ``steps`` (their numbers give the learning rates), yielding the parameters after each."""
    for step in steps:
        optimizer.step(params, PROBLEM.gradients(params), REFERENCE["lrs"][step])
        yield params


def worst(got: Any, want: Any) -> float:
    """The largest difference of ``got`` from ``want``, in units of the tolerance (1 or less: agreed)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    return float(np.max(np.abs(got - want) / (RELATIVE * np.abs(want) + ABSOLUTE)))


def relative(got: Any, want: Any) -> float:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300)))


# -- PyTorch's numbers ----------------------------------------------------------------------------


def test_the_reference_covers_every_built_in_with_and_without_weight_decay_and_warmup() -> None:
    assert REFERENCE["torch"].startswith("2.13.0")
    assert {case["optimizer"] for case in OPTIMIZER_CASES} == set(OPTIMIZERS)
    for name in OPTIMIZERS:
        cases = [case for case in OPTIMIZER_CASES if case["optimizer"] == name]
        assert any(case["defaults"] for case in cases), name
        assert any(
            case["settings"]["weight_decay"] != defaults(OPTIMIZERS[name])["weight_decay"] for case in cases
        )
    assert {case["schedule"] for case in SCHEDULE_CASES} == set(SCHEDULES)
    for name in SCHEDULES:
        assert {case["warmup"] is None for case in SCHEDULE_CASES if case["schedule"] == name} == {
            True,
            False,
        }


@pytest.mark.parametrize(
    "case", [case for case in OPTIMIZER_CASES if case["defaults"]], ids=lambda c: c["label"]
)
def test_default_settings_are_torch_s(case: dict[str, Any]) -> None:
    assert defaults(OPTIMIZERS[case["optimizer"]]) == case["settings"]


@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=lambda c: c["label"])
def test_every_optimizer_follows_torch_step_by_step(case: dict[str, Any]) -> None:
    optimizer = OPTIMIZERS[case["optimizer"]](case["settings"])
    for step, (params, want) in enumerate(
        zip(run(optimizer, PROBLEM.initial_params(), range(REFERENCE["steps"])), case["params"], strict=True)
    ):
        for name, value in want.items():
            assert worst(params[name], value) <= 1, (
                f"step {step + 1}, {name}: {params[name]!r} against torch's {value!r} "
                f"(relative difference {relative(params[name], value):.3g})"
            )


@pytest.mark.parametrize(
    "case", [case for case in SCHEDULE_CASES if case["defaults"]], ids=lambda c: c["label"]
)
def test_default_schedule_settings_are_torch_s(case: dict[str, Any]) -> None:
    assert defaults(SCHEDULES[case["schedule"]]) == case["settings"]


def test_the_warmup_s_default_start_factor_is_linear_lr_s() -> None:
    [case] = [case for case in SCHEDULE_CASES if case["warmup_defaults"]]
    assert defaults(Warmup) == {"steps": 0.0, "start_factor": case["warmup"]["start_factor"]}


def schedule_of(case: Mapping[str, Any]) -> Schedule | Warmup:
    main = SCHEDULES[case["schedule"]](case["settings"])
    return main if case["warmup"] is None else Warmup(main, case["warmup"])


@pytest.mark.parametrize("case", SCHEDULE_CASES, ids=lambda c: c["label"])
def test_every_schedule_gives_torch_s_learning_rates(case: dict[str, Any]) -> None:
    schedule = schedule_of(case)
    total = REFERENCE["steps"]
    for step, want in enumerate(case["lrs"]):
        got = schedule.lr(step, REFERENCE["base_lr"], total)
        assert worst(got, want) <= 1, f"step {step}: {got!r} against torch's {want!r}"


@pytest.mark.parametrize(
    "case", [case for case in SCHEDULE_CASES if case["warmup"] is None], ids=lambda c: c["label"]
)
def test_a_warmup_of_no_steps_is_the_schedule_itself(case: dict[str, Any]) -> None:
    main = SCHEDULES[case["schedule"]](case["settings"])
    warm = Warmup(main, {"steps": 0, "start_factor": 0.5})
    for step in range(REFERENCE["steps"]):
        assert warm.lr(step, 0.1, 20) == main.lr(step, 0.1, 20)


# -- resuming ---------------------------------------------------------------------------------------


def through_npz(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``state`` written to an .npz file and read back, as the trainer does."""
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer) as loaded:
        return {key: loaded[key] for key in loaded.files}


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=lambda c: c["label"])
def test_state_then_load_state_resumes_bit_for_bit(case: dict[str, Any]) -> None:
    kind = OPTIMIZERS[case["optimizer"]]
    straight = PROBLEM.initial_params()
    uninterrupted = kind(case["settings"])
    for _ in run(uninterrupted, straight, range(20)):
        pass
    first = kind(case["settings"])
    resumed = PROBLEM.initial_params()
    for _ in run(first, resumed, range(10)):
        pass
    state = through_npz(first.state())
    assert int(state["step"]) == 10
    second = kind(case["settings"])
    second.load_state(state)
    resumed = {name: value.copy() for name, value in resumed.items()}  # as read back from a checkpoint
    for _ in run(second, resumed, range(10, 20)):
        pass
    for name in straight:
        assert same_bits(resumed[name], straight[name]), name
    final, want = second.state(), uninterrupted.state()
    assert list(final) == list(want) and all(same_bits(final[key], want[key]) for key in want)


def test_state_arrays_are_copies_and_name_kind_and_parameter() -> None:
    adam = OPTIMIZERS["adam"](defaults(OPTIMIZERS["adam"]))
    params = {"f/w0": np.array([1.0, 2.0]), "c": np.array(0.5)}  # a module's parameter name holds a /
    adam.step(params, {"f/w0": np.array([0.1, -0.2]), "c": np.array(1.0)}, 0.01)
    state = adam.state()
    assert sorted(state) == ["exp_avg/c", "exp_avg/f/w0", "exp_avg_sq/c", "exp_avg_sq/f/w0", "step"]
    saved = state["exp_avg/f/w0"].copy()
    adam.step(params, {"f/w0": np.array([0.1, -0.2]), "c": np.array(1.0)}, 0.01)
    assert same_bits(state["exp_avg/f/w0"], saved)
    fresh = OPTIMIZERS["adam"](defaults(OPTIMIZERS["adam"]))
    fresh.load_state(state)
    assert fresh.buffers["exp_avg"]["f/w0"] is not state["exp_avg/f/w0"]


def test_load_state_refuses_another_optimizer_s_state() -> None:
    adam = OPTIMIZERS["adam"](defaults(OPTIMIZERS["adam"]))
    adam.step({"w": np.zeros(2)}, {"w": np.ones(2)}, 0.1)
    sgd = OPTIMIZERS["sgd"](defaults(OPTIMIZERS["sgd"]))
    with pytest.raises(ValueError) as info:
        sgd.load_state(adam.state())
    assert (
        str(info.value)
        == "optimizer 'sgd': the saved state holds 'exp_avg/w', which it does not keep (it keeps: step)"
    )
    rmsprop = OPTIMIZERS["rmsprop"](defaults(OPTIMIZERS["rmsprop"]))
    with pytest.raises(ValueError) as info:
        rmsprop.load_state(adam.state())
    assert str(info.value) == (
        "optimizer 'rmsprop': the saved state holds 'exp_avg/w', which it does not keep "
        "(it keeps: step, square_avg/PARAM)"
    )


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({}, "optimizer 'adam': the saved state has no 'step'"),
        (
            {"step": np.array(1.5)},
            "optimizer 'adam': the saved 'step' must be a count, got array(1.5) of float64",
        ),
        (
            {"step": np.array([1, 2])},
            "optimizer 'adam': the saved 'step' must be a count, got array([1, 2]) of int64",
        ),
        (
            {"step": np.array(-1)},
            "optimizer 'adam': the saved 'step' must be a count, got array(-1) of int64",
        ),
        (
            {"step": np.array(3), "exp_avg": np.zeros(2)},
            "optimizer 'adam': the saved state holds 'exp_avg', which it does not keep "
            "(it keeps: step, exp_avg/PARAM, exp_avg_sq/PARAM)",
        ),
    ],
)
def test_load_state_refuses_a_state_it_cannot_continue(state: dict[str, np.ndarray], message: str) -> None:
    adam = OPTIMIZERS["adam"](defaults(OPTIMIZERS["adam"]))
    with pytest.raises(ValueError) as info:
        adam.load_state(state)
    assert str(info.value) == message


def test_a_loaded_state_of_another_shape_is_refused_at_the_next_step() -> None:
    adam = OPTIMIZERS["adam"](defaults(OPTIMIZERS["adam"]))
    adam.load_state({"step": np.array(1), "exp_avg/w": np.zeros(3), "exp_avg_sq/w": np.zeros(3)})
    with pytest.raises(ValueError) as info:
        adam.step({"w": np.zeros(2)}, {"w": np.ones(2)}, 0.1)
    assert str(info.value) == "optimizer 'adam': the state exp_avg/w has shape (3,), the parameter (2,)"


def test_step_changes_the_parameters_in_place_and_never_the_gradients() -> None:
    for name, kind in OPTIMIZERS.items():
        optimizer = kind(defaults(kind))
        params = PROBLEM.initial_params()
        arrays = dict(params)
        grads = PROBLEM.gradients(params)
        kept = {key: value.copy() for key, value in grads.items()}
        for _ in range(2):
            optimizer.step(params, grads, 0.1)
        assert all(params[key] is arrays[key] for key in params), name
        assert all(same_bits(grads[key], kept[key]) for key in grads), name
        assert not same_bits(params["W"], PROBLEM.initial_params()["W"]), name


# -- settings ---------------------------------------------------------------------------------------

BETA = Setting(0.9, "beta", 0.0, 1.0, high_open=True)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (BETA, "0.5", "must be a number, got the text '0.5'"),
        (BETA, True, "must be a number, got a boolean (True)"),
        (BETA, None, "must be a number, got null"),
        (BETA, [0.5], "must be a number, got a list"),
        (BETA, math.inf, "must be a finite number, got inf"),
        (BETA, math.nan, "must be a finite number, got nan"),
        (BETA, 10**400, f"must be a finite number, got {10**400!r}"),
        (BETA, -0.1, "must be at least 0 and less than 1, got -0.1"),
        (BETA, 1, "must be at least 0 and less than 1, got 1"),
        (Setting(0.9, "momentum", 0.0, low_open=True), 0, "must be greater than 0, got 0"),
        (Setting(0.0, "dampening", 0, 1), 1.5, "must be at least 0 and at most 1, got 1.5"),
        (Setting(0.0, "weight decay", 0.0), -1e-3, "must be at least 0, got -0.001"),
        (Setting(1e-8, "eps", 1e-12), 0.0, "must be at least 1e-12, got 0.0"),
        (Setting(1.0, "factor", high=2.0), 3, "must be at most 2, got 3"),
        (Setting(30, "step size", 1, integer=True), 2.5, "must be a whole number, got 2.5"),
        (Setting(30, "step size", 1, integer=True), 0, "must be at least 1, got 0"),
        (Setting(0, "centered", 0, 1, integer=True), 2, "must be 0 or 1, got 2"),
    ],
)
def test_every_setting_refusal_says_why(setting: Setting, value: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        setting.convert(value)
    assert str(info.value) == message


def test_a_setting_takes_ints_and_floats_alike_and_gives_floats() -> None:
    assert BETA.convert(0) == 0.0 and type(BETA.convert(0)) is float
    assert type(BETA.convert(np.float64(0.5))) is float
    assert Setting(30, "step size", 1, integer=True).convert(3.0) == 3.0
    assert Setting(1.0, "any").bounds_text == "any number"
    assert Setting(1, "any count", integer=True).bounds_text == "any whole number"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"beta_1": 0.5}, "optimizer 'adam' has no setting 'beta_1' (did you mean 'beta1'?)"),
        (
            {"momentum": 0.5},
            "optimizer 'adam' has no setting 'momentum' (its settings: beta1, beta2, eps, weight_decay)",
        ),
        ({"beta1": 1.0}, "optimizer 'adam': beta1 must be at least 0 and less than 1, got 1.0"),
        ({"eps": "small"}, "optimizer 'adam': eps must be a number, got the text 'small'"),
    ],
)
def test_resolve_names_the_owner_and_the_setting(given: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as info:
        resolve(OPTIMIZERS["adam"].settings, given, "optimizer 'adam'")
    assert str(info.value) == message


def test_resolve_fills_defaults_in_declared_order_and_constructors_want_every_setting() -> None:
    assert list(resolve(OPTIMIZERS["adam"].settings, {"eps": 0}, "adam")) == [
        "beta1",
        "beta2",
        "eps",
        "weight_decay",
    ]
    with pytest.raises(ValueError) as info:
        resolve(SCHEDULES["constant"].settings, {"gamma": 0.5}, "schedule 'constant'")
    assert str(info.value) == "schedule 'constant' has no setting 'gamma' (it has no settings)"
    with pytest.raises(ValueError) as info:
        OPTIMIZERS["adam"]({"beta1": 0.9})
    assert str(info.value) == "optimizer 'adam': setting 'beta2' is missing"
    with pytest.raises(ValueError) as info:
        SCHEDULES["step"]({"step_size": 0, "gamma": 0.1})
    assert str(info.value) == "schedule 'step': step_size must be at least 1, got 0"
    with pytest.raises(ValueError) as info:
        Warmup(SCHEDULES["constant"]({}), {"steps": 2, "start_factor": 0})
    assert str(info.value) == "warmup: start_factor must be greater than 0 and at most 1, got 0"


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        (Setting(0.0, ""), "its doc must be a non-empty one-line string"),
        (Setting(0.0, "x", integer=1), "integer must be True or False, got 1"),  # type: ignore[arg-type]
        (Setting(0.0, "x", low="0"), "low must be a number, got the text '0'"),  # type: ignore[arg-type]
        (Setting(0.0, "x", 1.0, 0.0), "low (1.0) must not be above high (0.0)"),
        (
            Setting(2.0, "x", 0.0, 1.0),
            "its default 2.0 is refused by its own bounds: must be at least 0 and at most 1, got 2.0",
        ),
        (
            Setting(math.nan, "x"),
            "its default nan is refused by its own bounds: must be a finite number, got nan",
        ),
    ],
)
def test_a_badly_declared_setting_has_problems(setting: Setting, problem: str) -> None:
    assert setting.problems() == [problem]


def test_every_built_in_declares_its_settings_well() -> None:
    for registry in (OPTIMIZERS, SCHEDULES):
        for name, kind in registry.items():
            assert kind.doc and kind.name == name
            for key, setting in kind.settings.items():
                assert setting.problems() == [], (name, key)
    assert all(setting.problems() == [] for setting in Warmup.settings.values())


# -- warmup -----------------------------------------------------------------------------------------


def test_warmup_rises_in_equal_steps_then_starts_the_schedule_afresh() -> None:
    cosine = SCHEDULES["cosine"]({"eta_min": 0.0})
    warm = Warmup(cosine, {"steps": 4, "start_factor": 0.2})
    rates = [warm.lr(step, 1.0, 10) for step in range(10)]
    assert rates[:4] == pytest.approx([0.2, 0.4, 0.6, 0.8], rel=1e-15)
    assert rates[4:] == [cosine.lr(step, 1.0, 6) for step in range(6)]


def test_warmup_refuses_a_step_outside_the_run() -> None:
    warm = Warmup(SCHEDULES["constant"]({}), {"steps": 2, "start_factor": 0.5})
    with pytest.raises(ValueError) as info:
        warm.lr(5, 0.1, 5)
    assert str(info.value) == "step 5 is not one of the run's 5 steps (0 to 4)"


# -- registration -----------------------------------------------------------------------------------

THIRD_PARTY = """
    import numpy as np

    from gatekit import hookimpl
    from gatekit.training.optimizers import Optimizer
    from gatekit.training.schedules import Schedule
    from gatekit.training.settings import Setting


    class Lion(Optimizer):
        name = "lion"
        doc = "The sign of a running mean."
        settings = {"beta": Setting(0.9, "decay", 0.0, 1.0)}

        def step(self, params, grads, lr):
            for name, param in params.items():
                param -= lr * np.sign(grads[name])


    class Halving(Schedule):
        name = "halving"
        doc = "Half the rate every step."

        def lr(self, step, base_lr, total_steps):
            return base_lr * 0.5**step


    @hookimpl
    def gatekit_register_optimizers():
        return [Lion]


    @hookimpl
    def gatekit_register_schedules():
        return [Halving]
"""


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on ``sys.path`` for plugin modules (and fake installed distributions)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("gk_"):
            del sys.modules[name]


def write_plugin(folder: Path, module: str, source: str) -> str:
    (folder / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return module


def install(folder: Path, dist: str, module: str, source: str) -> None:
    """Lay out ``module`` and a dist-info for ``dist`` 1.0 with an entry point to it, as pip would."""
    write_plugin(folder, module, source)
    info = folder / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[gatekit]\n{module} = {module}\n")


def test_the_built_ins_come_in_as_plugins_in_order() -> None:
    assert list(OPTIMIZERS) == ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"]
    assert list(SCHEDULES) == ["constant", "step", "exponential", "cosine", "linear"]
    assert set(OPTIMIZERS.plugins.values()) == {"gatekit.training.optimizers"}
    assert OPTIMIZERS.problems == [] and SCHEDULES.problems == []


def test_a_third_party_optimizer_and_schedule_are_found_through_the_hooks(plugin_dir: Path) -> None:
    module = write_plugin(plugin_dir, "gk_lion", THIRD_PARTY)
    pm = plugin_manager(plugins=[module], autoload=False)
    optimizers, schedules = optimizer_registry(pm), schedule_registry(pm)
    assert list(optimizers)[-1] == "lion" and optimizers.plugins["lion"] == "gk_lion"
    assert list(schedules)[-1] == "halving"
    lion = optimizers.find("lion")(resolve(optimizers["lion"].settings, {}, "lion"))
    params = {"w": np.array([1.0, -1.0])}
    lion.step(params, {"w": np.array([3.0, -0.5])}, 0.25)
    assert params["w"].tolist() == [0.75, -0.75]
    assert schedules["halving"]({}).lr(3, 1.0, 10) == 0.125
    assert "adam" in optimizers and "mul" in GateRegistry.from_manager(pm)


def test_an_installed_optimizer_is_found_from_its_entry_point(plugin_dir: Path) -> None:
    install(plugin_dir, "gatekit-lion", "gk_lion", THIRD_PARTY)
    pm = plugin_manager(autoload=True)
    optimizers = optimizer_registry(pm)
    assert optimizers.plugins["lion"] == "gk_lion"
    assert pm.distribution_of("gk_lion") == "gatekit-lion 1.0"


def test_the_gate_registry_passes_the_training_plugins_by_and_they_can_be_blocked() -> None:
    pm = plugin_manager(autoload=False)
    assert "gatekit.training.optimizers" in dict(pm.list_name_plugin())
    assert "mul" in GateRegistry.from_manager(pm)
    blocked = plugin_manager(blocked=["gatekit.training.optimizers"], autoload=False)
    assert blocked.problems == []  # the name blocks something: no warning
    assert len(optimizer_registry(blocked)) == 0
    assert "cosine" in schedule_registry(blocked)


def test_find_suggests_the_likely_name_or_lists_them_all() -> None:
    with pytest.raises(ValueError) as info:
        SCHEDULES.find("cosin")
    assert str(info.value) == "unknown schedule 'cosin' (did you mean 'cosine'?)"
    with pytest.raises(ValueError) as info:
        SCHEDULES.find("onecycle")
    assert (
        str(info.value)
        == "unknown schedule 'onecycle' (the schedules: constant, step, exponential, cosine, linear)"
    )


HOOK = """
    from gatekit import hookimpl
    from gatekit.training.optimizers import Optimizer
    from gatekit.training.settings import Setting


    class Good(Optimizer):
        name = "good"
        doc = "Does nothing."

        def step(self, params, grads, lr):
            pass


    @hookimpl
    def gatekit_register_optimizers():
        {body}
"""

RETURNED = "gatekit_register_optimizers returned"
GOOD = f"{RETURNED} class Good:"
#: (the hook's body, the message that follows "plugin 'gk_opt' (not installed (-p)): ")
REFUSALS = [
    ("return Good", f"{RETURNED} type, not a list of optimizer classes"),
    ("raise RuntimeError('none today')", "gatekit_register_optimizers raised RuntimeError: none today"),
    ("return ['adam']", f"{RETURNED} \"'adam'\": not a class (str)"),
    (
        "return [Setting]",
        f"{RETURNED} class Setting: not a subclass of gatekit.training.optimizers.Optimizer",
    ),
    ("del Good.name", f"{GOOD} it has no name (set the class attribute name)"),
    ("Good.name = 'my opt'", f"{GOOD} its name 'my opt' is not a valid name (letters, digits and _)"),
    ("Good.doc = ''", f"{GOOD} its doc must be a non-empty one-line string"),
    ("del Good.step", f"{GOOD} it does not implement step"),
    (
        "Good.settings = [('beta', 0.9)]",
        f"{GOOD} its settings must be a mapping of names to Settings, not list",
    ),
    (
        "Good.settings = {'beta': 0.9}",
        f"{GOOD} setting 'beta' must be a gatekit.training.settings.Setting, not float",
    ),
    (
        "Good.settings = {'beta-1': Setting(0.9, 'decay')}",
        f"{GOOD} setting name 'beta-1' is not a valid name",
    ),
    (
        "Good.settings = {'lr': Setting(0.1, 'rate')}",
        f"{GOOD} setting 'lr' cannot be an optimizer's: the schedule gives each step's learning rate",
    ),
    (
        "Good.settings = {'beta': Setting(2.0, 'decay', 0, 1)}",
        f"{GOOD} setting 'beta': its default 2.0 is refused by its own bounds: "
        "must be at least 0 and at most 1, got 2.0",
    ),
]


@pytest.mark.parametrize(("body", "message"), REFUSALS, ids=[body for body, _ in REFUSALS])
def test_a_plugin_s_broken_optimizer_is_refused_in_one_message_naming_the_plugin(
    plugin_dir: Path, body: str, message: str
) -> None:
    if not body.startswith(("return", "raise")):
        body += "\n        return [Good]"
    module = write_plugin(plugin_dir, "gk_opt", HOOK.replace("{body}", body))
    with pytest.raises(PluginError) as info:
        optimizer_registry(plugin_manager(plugins=[module], autoload=False))
    assert str(info.value) == f"plugin 'gk_opt' (not installed (-p)): {message}"


def test_a_plugin_cannot_take_a_built_in_s_name(plugin_dir: Path) -> None:
    module = write_plugin(
        plugin_dir, "gk_opt", HOOK.replace("{body}", "Good.name = 'adam'\n        return [Good]")
    )
    pm = plugin_manager(plugins=[module], autoload=False)
    with pytest.raises(PluginError) as info:
        optimizer_registry(pm)
    assert str(info.value) == (
        "optimizer name 'adam' is claimed twice: by plugin 'gatekit.training.optimizers' "
        f"({pm.distribution_of('gatekit.training.optimizers')}) and by plugin 'gk_opt' (not installed (-p))"
    )


def test_every_problem_of_a_plugin_s_classes_is_in_its_one_message(plugin_dir: Path) -> None:
    body = "Good.doc = ''\n        Good.settings = {'x': 1}\n        return [Good, int]"
    module = write_plugin(plugin_dir, "gk_opt", HOOK.replace("{body}", body))
    with pytest.raises(PluginError) as info:
        optimizer_registry(plugin_manager(plugins=[module], autoload=False))
    assert str(info.value) == (
        "plugin 'gk_opt' (not installed (-p)): gatekit_register_optimizers returned class Good: "
        "its doc must be a non-empty one-line string; setting 'x' must be a "
        "gatekit.training.settings.Setting, not int, and class int: not a subclass of "
        "gatekit.training.optimizers.Optimizer"
    )


def test_a_schedule_without_lr_is_refused(plugin_dir: Path) -> None:
    source = """
        from gatekit import hookimpl
        from gatekit.training.schedules import Schedule


        class Flat(Schedule):
            name = "flat"
            doc = "Forgot lr."


        @hookimpl
        def gatekit_register_schedules():
            return [Flat]
    """
    module = write_plugin(plugin_dir, "gk_flat", source)
    with pytest.raises(PluginError) as info:
        schedule_registry(plugin_manager(plugins=[module], autoload=False))
    assert str(info.value) == (
        "plugin 'gk_flat' (not installed (-p)): gatekit_register_schedules returned class Flat: "
        "it does not implement lr"
    )


def test_two_plugins_given_with_p_cannot_share_a_name(plugin_dir: Path) -> None:
    first = write_plugin(plugin_dir, "gk_lion", THIRD_PARTY)
    second = write_plugin(plugin_dir, "gk_lion2", THIRD_PARTY)
    with pytest.raises(PluginError) as info:
        optimizer_registry(plugin_manager(plugins=[first, second], autoload=False))
    assert str(info.value) == (
        "optimizer name 'lion' is claimed twice: by plugin 'gk_lion' (not installed (-p)) "
        "and by plugin 'gk_lion2' (not installed (-p))"
    )


def test_an_installed_plugin_s_faults_are_set_aside_with_one_problem(plugin_dir: Path) -> None:
    install(plugin_dir, "gatekit-bad", "gk_bad", HOOK.replace("{body}", "return [int]"))
    pm = plugin_manager(autoload=True)
    optimizers = optimizer_registry(pm)
    assert optimizers.problems == [
        "plugin 'gk_bad' (gatekit-bad 1.0): gatekit_register_optimizers returned class int: "
        "not a subclass of gatekit.training.optimizers.Optimizer; it is not loaded"
    ]
    assert list(optimizers) == list(OPTIMIZERS)
    assert optimizer_registry(pm).problems == []  # set aside once: the plugin is gone


def test_an_installed_plugin_taking_a_name_loses_but_one_given_with_p_wins(plugin_dir: Path) -> None:
    install(
        plugin_dir,
        "gatekit-adam",
        "gk_adam",
        HOOK.replace("{body}", "Good.name = 'adam'\n        return [Good]"),
    )
    pm = plugin_manager(autoload=True)
    optimizers = optimizer_registry(pm)
    assert optimizers.plugins["adam"] == "gatekit.training.optimizers"
    assert optimizers.problems == [
        "optimizer name 'adam' is claimed twice: by plugin 'gatekit.training.optimizers' "
        f"({pm.distribution_of('gatekit.training.optimizers')}) and by plugin 'gk_adam' (gatekit-adam 1.0); "
        "the first one is used"
    ]
    install(plugin_dir, "gatekit-lion", "gk_lion", THIRD_PARTY)
    lion_again = write_plugin(plugin_dir, "gk_lion_p", THIRD_PARTY)
    wins = optimizer_registry(plugin_manager(plugins=[lion_again], autoload=True))
    assert wins.plugins["lion"] == "gk_lion_p"
    assert wins.problems[-1] == (
        "optimizer name 'lion' is claimed twice: by plugin 'gk_lion' (gatekit-lion 1.0) and by plugin "
        "'gk_lion_p' (not installed (-p)); the one asked for with -p is used"
    )
