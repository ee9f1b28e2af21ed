"""gatekit train: the examples learn, resuming is bit for bit, and what it writes is right.

The error messages are tests/test_train_errors.py's; the optimizers and
schedules against PyTorch are tests/test_optimizers.py's.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gatekit
from gatekit.cli import main
from gatekit.training.checkpoint import read_checkpoint, write_checkpoint
from gatekit.training.loop import Step
from gatekit.training.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = ROOT / "graphs"
DATA = GRAPHS / "data"
MOONS = [str(GRAPHS / "moons.yaml"), "--inputs", str(DATA / "moons.json")]
LINEAR = [str(GRAPHS / "linear_regression.yaml"), "--inputs", str(DATA / "linear_regression.csv")]
XOR = [str(GRAPHS / "xor.yaml"), "--inputs", str(DATA / "xor.csv")]


def train(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["train", *args])
    out, err = capsys.readouterr()
    return code, out, err


def moons_data() -> dict[str, np.ndarray]:
    raw = json.loads((DATA / "moons.json").read_text())
    return {"X": np.array(raw["X"]), "y": np.array(raw["y"])}


def linear_data() -> dict[str, np.ndarray]:
    table = np.loadtxt(DATA / "linear_regression.csv", delimiter=",", skiprows=1)
    return {"x": table[:, 0], "y": table[:, 1]}


def run_json(path: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "gatekit", "run", str(path), *args, "--json"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# -- the examples learn --------------------------------------------------------------------------


def test_moons_reaches_every_point_and_the_trained_file_agrees(capsys, tmp_path: Path) -> None:
    trained = tmp_path / "moons.trained.yaml"
    code, out, err = train(capsys, *MOONS, "-o", str(trained))
    assert code == 0, err
    assert "step 100: loss 0.0208099, accuracy 1\n" in out
    assert out.endswith(f"wrote {trained}\n")
    outputs = run_json(trained, "--inputs", str(DATA / "moons.json"))["outputs"]
    assert outputs["accuracy"] == 1.0
    # the file's own four points, and its structure: the same keys, comments and train: section
    source = (GRAPHS / "moons.yaml").read_text().splitlines()
    written = trained.read_text().splitlines()
    assert len(source) == len(written)
    changed = [(a, b) for a, b in zip(source, written, strict=True) if a != b]
    assert [a.split(":")[0] for a, _ in changed] == [
        "imports",
        "  W1",
        "  b1",
        "  W2",
        "  b2",
        "  W3",
        "  b3",
    ]
    assert changed[0][1] == f"imports: [{os.path.relpath(GRAPHS / 'lib' / 'penalties.yaml', tmp_path)}]"


def test_the_trained_values_are_written_exactly(tmp_path: Path) -> None:
    circuit = gatekit.load(GRAPHS / "moons.yaml")
    result = gatekit.train(circuit, moons_data(), steps=5)
    trained = tmp_path / "t.yaml"
    assert main(["train", *MOONS, "--steps", "5", "-q", "-o", str(trained)]) == 0
    values = gatekit.load(trained).run().values
    for name, value in result.params.items():
        assert np.array_equal(values[name], value), name  # repr round-trips every float64
    assert isinstance(result.params["b3"], float) and result.params["W1"].shape == (2, 16)


def test_the_trained_file_in_place_keeps_its_imports(capsys, tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "penalties.yaml").write_text((GRAPHS / "lib" / "penalties.yaml").read_text())
    graph = tmp_path / "moons.yaml"
    graph.write_text((GRAPHS / "moons.yaml").read_text())
    code, _, err = train(capsys, str(graph), "--inputs", str(DATA / "moons.json"), "-o", str(graph), "-q")
    assert code == 0, err
    assert "imports: [lib/penalties.yaml]" in graph.read_text()
    assert "init:" not in graph.read_text()
    assert run_json(graph, "--inputs", str(DATA / "moons.json"))["outputs"]["accuracy"] == 1.0


def test_linear_regression_recovers_the_line(capsys) -> None:
    code, out, _ = train(capsys, *LINEAR, "--json", "-q")
    assert code == 0
    params = json.loads(out)["params"]
    table = np.loadtxt(DATA / "linear_regression.csv", delimiter=",", skiprows=1)
    w, b = np.linalg.lstsq(np.c_[table[:, 0], np.ones(len(table))], table[:, 1], rcond=None)[0]
    assert params["w"] == pytest.approx(w, abs=1e-5) and params["b"] == pytest.approx(b, abs=1e-5)
    assert params["w"] == pytest.approx(2.5, abs=0.15) and params["b"] == pytest.approx(-1.0, abs=0.2)


def test_xor_is_learnt(capsys) -> None:
    code, out, _ = train(capsys, *XOR, "--json", "-q")
    summary = json.loads(out)
    assert code == 0 and summary["outputs"]["accuracy"] == 1.0 and summary["loss"] < 1e-9


def test_the_readme_progress_lines_are_the_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Training") :]
    shown = re.search(r"```text\n(.*?)```", section, re.S)
    assert shown is not None
    done = subprocess.run(
        [sys.executable, "-m", "gatekit", "train", "graphs/moons.yaml", "--inputs", "graphs/data/moons.json"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    timing = re.compile(r"  [0-9.e+-]+ ms/step$")
    assert [timing.sub("", line) for line in shown.group(1).splitlines()] == [
        timing.sub("", line) for line in done.stderr.splitlines()
    ]


# -- the same numbers, always --------------------------------------------------------------------


def test_the_same_seed_gives_the_same_numbers_bit_for_bit(tmp_path: Path) -> None:
    args = [*MOONS, "--batch-size", "16", "--steps", "30", "-q"]
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert main(["train", *args, "-o", str(first)]) == 0
    assert main(["train", *args, "-o", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    other = tmp_path / "c.yaml"
    assert main(["train", *args, "--seed", "2", "-o", str(other)]) == 0  # another order of the rows
    assert other.read_bytes() != first.read_bytes()


SOLVERS = [
    {"optimizer": "adam", "lr": 0.01, "steps": 40, "batch_size": 16, "weight_decay": 1e-3},
    {"optimizer": "momentum", "lr": 0.2, "steps": 40, "batch_size": 30, "clip_norm": 0.5},
    {"optimizer": "rmsprop", "lr": 0.01, "epochs": 6, "batch_size": 32, "schedule": "cosine", "warmup": 5},
    {"optimizer": "adagrad", "lr": 0.1, "steps": 40, "schedule": {"name": "step", "step_size": 7}},
    {"optimizer": "nesterov", "lr": 0.1, "steps": 40, "batch_size": 7, "eval": {"split": 0.2, "every": 3}},
    {"optimizer": "adamw", "lr": 0.01, "steps": 40, "batch_size": 25, "shuffle": False, "freeze": ["W1"]},
]


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: str(s["optimizer"]))
def test_a_resumed_run_is_the_uninterrupted_run_bit_for_bit(solver: dict[str, Any], tmp_path: Path) -> None:
    circuit = gatekit.load(GRAPHS / "moons.yaml")
    config, _ = gatekit.training.api.solver_for(circuit, solver)
    whole = gatekit.Trainer(circuit, moons_data(), config).train()

    config, _ = gatekit.training.api.solver_for(circuit, solver)  # a fresh optimizer
    first = gatekit.Trainer(circuit, moons_data(), config)
    stop_at = first.total // 2 - 1
    half = first.train(stop=lambda: first.step >= stop_at)
    assert half.stopped and half.step == stop_at
    write_checkpoint(tmp_path / "ck.npz", first.state(), circuit.file)

    config, _ = gatekit.training.api.solver_for(circuit, solver)
    second = gatekit.Trainer(circuit, moons_data(), config)
    second.load_state(read_checkpoint(tmp_path / "ck.npz"))
    rest = second.train()
    assert rest.step == whole.step == first.total
    for name, value in whole.params.items():
        assert np.array_equal(rest.params[name], value), name
    losses = [row.loss for row in half.history + rest.history]
    assert losses == [row.loss for row in whole.history]
    assert [row.eval for row in half.history + rest.history] == [row.eval for row in whole.history]


def test_resume_from_the_command_line(capsys, tmp_path: Path) -> None:
    whole = tmp_path / "whole.yaml"
    assert main(["train", *MOONS, "--batch-size", "16", "--steps", "40", "-q", "-o", str(whole)]) == 0
    checkpoint = tmp_path / "ck.npz"
    args = [*MOONS, "--batch-size", "16", "--steps", "40", "-q", "--checkpoint", str(checkpoint)]
    solver = tmp_path / "solver.yaml"  # the moons solver, stopping at a checkpoint after step 17
    solver.write_text(
        "optimizer: sgd\nlr: 1.0\nschedule: {name: linear, start_factor: 1.0, end_factor: 0.1}\nsteps: 40\n"
    )
    code = main(["train", *args, "--checkpoint-every", "17", "--solver", str(solver)])
    capsys.readouterr()
    assert code == 0
    assert int(read_checkpoint(checkpoint)["step"]) == 40  # the last checkpoint is the end's
    first = tmp_path / "first.npz"
    # a run stopped by hand after 17 steps: the checkpoint of step 17
    circuit = gatekit.load(GRAPHS / "moons.yaml")
    config, _ = gatekit.training.api.solver_for(circuit, None, overrides={"steps": 40, "batch_size": 16})
    trainer = gatekit.Trainer(circuit, moons_data(), config)
    trainer.train(stop=lambda: trainer.step >= 17)
    write_checkpoint(first, trainer.state(), circuit.file)
    resumed = tmp_path / "resumed.yaml"
    code, out, _ = train(capsys, *MOONS, "--batch-size", "16", "--steps", "40", "-q", "--resume", str(first),
                         "-o", str(resumed))  # fmt: skip
    assert code == 0
    assert out.startswith("trained ") and ": 23 steps, from step 17 of 40\n" in out
    assert resumed.read_bytes() == whole.read_bytes()


def test_ctrl_c_stops_after_the_step_and_leaves_files_to_resume_from(tmp_path: Path) -> None:
    solver = tmp_path / "solver.yaml"
    solver.write_text("optimizer: adam\nlr: 0.01\nsteps: 3000\nbatch_size: 10\nlog_every: 1\n")
    checkpoint, trained = tmp_path / "ck.npz", tmp_path / "t.yaml"
    command = [sys.executable, "-m", "gatekit", "train", *MOONS, "--solver", str(solver)]
    outputs = ["--checkpoint", str(checkpoint), "-o", str(trained)]
    process = subprocess.Popen(
        [*command, *outputs], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert process.stderr is not None
    first = process.stderr.readline()  # training is under way
    assert first.startswith("step ")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    last = err.splitlines()[-1]
    stopped = re.fullmatch(
        rf"error: interrupted after step (\d+) of 3000: {re.escape(str(trained))}, "
        rf"{re.escape(str(checkpoint))}; continue with --resume {re.escape(str(checkpoint))}",
        last,
    )
    assert stopped, last
    step = int(stopped.group(1))
    assert 1 <= step < 3000 and int(read_checkpoint(checkpoint)["step"]) == step
    assert gatekit.load(trained).run().outputs  # a valid circuit file
    assert "Traceback" not in err and out.startswith("trained ")
    assert sorted(os.listdir(tmp_path)) == ["ck.npz", "solver.yaml", "t.yaml"]  # no temporary file left

    # resuming finishes the run as if it had never stopped
    resumed = tmp_path / "resumed.yaml"
    whole = tmp_path / "whole.yaml"
    for args in (["--resume", str(checkpoint), "-o", str(resumed)], ["-o", str(whole)]):
        done = subprocess.run([*command, "-q", *args], capture_output=True, text=True, cwd=ROOT, check=False)
        assert done.returncode == 0, done.stderr
    assert resumed.read_bytes() == whole.read_bytes()


def test_a_loss_that_stops_being_finite_names_the_step_and_the_gate(capsys, tmp_path: Path) -> None:
    trained, checkpoint, log = tmp_path / "t.yaml", tmp_path / "ck.npz", tmp_path / "log.csv"
    trained.write_text("the last good file\n")
    code, _, err = train(capsys, *LINEAR, "--lr", "10", "-q", "-o", str(trained), "--checkpoint",
                         str(checkpoint), "--log", str(log))  # fmt: skip
    assert code == 1
    line = f"{GRAPHS / 'linear_regression.yaml'}:29:3: step 76: the loss 'loss' is inf; gate 'sq' (square, "
    assert err == (
        f"error: {line}plugin 'gatekit.gates.arithmetic:square') produced inf in the forward pass, "
        "from inputs (array(40,))\n"
    )
    assert trained.read_text() == "the last good file\n"
    assert sorted(os.listdir(tmp_path)) == ["t.yaml"]  # nothing written, no temporary file left


def test_a_gradient_that_stops_being_finite_is_named(capsys) -> None:
    text = (
        "inputs: {x: [1.0, 4.0]}\nparams: {w: 0.0}\ngates:\n"
        "  s: {gate: sqrt, in: [w]}\n  m: {gate: mul, in: [s, x]}\n  loss: {gate: mean, in: [m]}\n"
        "outputs: [loss]\n"
    )
    circuit = gatekit.loads(text, file="g.yaml")
    # sqrt(w) at w = 0: the loss is finite (0), its gradient 1/(2 sqrt 0) is not
    with pytest.raises(gatekit.TrainingError) as info:
        gatekit.train(circuit, solver={"optimizer": "sgd", "lr": 0.4, "steps": 10})
    message = str(info.value)
    assert message.startswith(
        "g.yaml:4:3: step 1: the gradient of 'w' is not finite; gate 's' (sqrt, plugin "
    )
    assert "produced inf in the backward pass" in message


# -- what it writes ------------------------------------------------------------------------------


def test_the_log_has_a_row_per_step(tmp_path: Path) -> None:
    solver = tmp_path / "s.yaml"
    solver.write_text("lr: 0.05\nsteps: 12\nbatch_size: 10\neval: {split: 0.25, every: 5}\n")
    for kind in ("csv", "jsonl"):
        log = tmp_path / f"log.{kind}"
        assert main(["train", *LINEAR, "--solver", str(solver), "-q", "--log", str(log)]) == 0
        text = log.read_text()
        if kind == "csv":
            rows = list(csv.DictReader(text.splitlines()))
            assert list(rows[0]) == ["step", "epoch", "lr", "loss", "pred", "eval_loss", "eval_pred"]
            assert [row["eval_loss"] != "" for row in rows] == [s in (5, 10, 12) for s in range(1, 13)]
        else:
            rows = [json.loads(line) for line in text.splitlines()]
            assert "eval_loss" in rows[4] and "eval_loss" not in rows[0]
        assert [int(row["step"]) for row in rows] == list(range(1, 13))
        assert [int(row["epoch"]) for row in rows] == [
            1,
            1,
            1,
            2,
            2,
            2,
            3,
            3,
            3,
            4,
            4,
            4,
        ]  # 30 rows, 3 batches
        assert float(rows[0]["lr"]) == 0.05


def test_the_summary_says_where_the_eval_was_best(capsys) -> None:
    code, out, _ = train(capsys, *LINEAR, "--steps", "40", "--lr", "0.05", "-q", "--json")
    assert code == 0 and json.loads(out)["best_eval"] is None
    circuit = gatekit.load(GRAPHS / "linear_regression.yaml")
    data = linear_data()
    held = {name: value[30:] for name, value in data.items()}
    result = gatekit.train(
        circuit, {k: v[:30] for k, v in data.items()}, {"steps": 40, "lr": 0.05, "eval": {"split": 0.5}}
    )
    assert result.best_eval is not None
    result = gatekit.train(circuit, {k: v[:30] for k, v in data.items()}, {"steps": 40, "lr": 0.05},
                           eval_data=held)  # fmt: skip
    assert result.best_eval is not None  # held-out rows given in code: evaluated every 10 steps
    assert [row.step for row in result.history if row.eval is not None] == [10, 20, 30, 40]


@pytest.mark.parametrize("kind", [".png", ".svg"])
def test_the_plot_is_a_picture(tmp_path: Path, kind: str) -> None:
    pytest.importorskip("matplotlib")
    picture = tmp_path / f"loss{kind}"
    assert main(["train", *MOONS, "--steps", "10", "-q", "--plot", str(picture)]) == 0
    data = picture.read_bytes()
    assert data.startswith(b"\x89PNG") if kind == ".png" else b"<svg" in data[:2000]


def test_the_readme_picture_is_the_moons_run(tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    committed = (ROOT / "docs" / "moons_loss.svg").read_text()
    made_by = re.search(r"Matplotlib v([0-9.]+)", committed)
    assert made_by is not None
    if made_by.group(1) != matplotlib.__version__:
        pytest.skip(
            f"docs/moons_loss.svg was drawn by matplotlib {made_by.group(1)}, not {matplotlib.__version__}"
        )
    fresh = tmp_path / "moons_loss.svg"
    assert main(["train", *MOONS, "-q", "--plot", str(fresh)]) == 0
    assert fresh.read_text() == committed, (
        "regenerate it: gatekit train graphs/moons.yaml --inputs graphs/data/moons.json -q "
        "--plot docs/moons_loss.svg"
    )


def test_a_checkpoint_is_plain_numpy(tmp_path: Path) -> None:
    checkpoint = tmp_path / "ck.npz"
    assert main(["train", *MOONS, "--steps", "3", "-q", "--checkpoint", str(checkpoint)]) == 0
    with np.load(checkpoint, allow_pickle=False) as archive:
        keys = set(archive.files)
        assert int(archive["step"]) == 3 and archive["params/W1"].shape == (2, 16)
        assert bytes(archive["meta/format"]).decode() == "gatekit checkpoint 1"
    assert {"optimizer/step", "data/order", "data/rng", "data/epoch", "data/position"} <= keys


# -- what it shows -------------------------------------------------------------------------------


def _steps(count: int) -> list[Step]:
    return [Step(i, 1, 0.1, 1.0 / i, {"acc": 0.5}, {"loss": 2.0, "acc": 0.25} if i % 4 == 0 else None, 0.001)
            for i in range(1, count + 1)]  # fmt: skip


def test_plain_progress_lines_every_n_steps_and_at_the_end(tmp_path: Path) -> None:
    with open(tmp_path / "out.txt", "w") as stream:
        progress = Progress(10, "loss", stream, every=4)
        for step in _steps(10):
            progress.update(step, 10)
        progress.close()
    lines = (tmp_path / "out.txt").read_text().splitlines()
    assert lines == [
        "step    4/10  loss 0.25  acc 0.5  eval_loss 2  lr 0.1  1 ms/step",
        "step    8/10  loss 0.125  acc 0.5  eval_loss 2  lr 0.1  1 ms/step",
        "step   10/10  loss 0.1  acc 0.5  lr 0.1  1 ms/step",
    ]


def test_a_bar_on_a_terminal(tmp_path: Path) -> None:
    pytest.importorskip("tqdm")
    with open(tmp_path / "out.txt", "w") as stream:
        progress = Progress(10, "loss", stream, bar=True)
        for step in _steps(10):
            progress.update(step, 10)
        progress.close()
    text = (tmp_path / "out.txt").read_text()
    assert "training: 100%" in text and "10/10" in text and "eval_loss=2" in text and "step/s" in text


def test_quiet_shows_nothing(capsys) -> None:
    code, out, err = train(capsys, *LINEAR, "--steps", "3", "-q")
    assert code == 0 and err == "" and out.startswith("trained ")


# -- the solver's settings do what they say -------------------------------------------------------


def test_a_frozen_param_keeps_its_value() -> None:
    circuit = gatekit.load(GRAPHS / "linear_regression.yaml")
    result = gatekit.train(circuit, linear_data(), {"steps": 50, "lr": 0.1, "freeze": ["b"]})
    assert result.params["b"] == 0.0 and result.params["w"] != 1.0


def test_clip_norm_scales_the_gradients_as_torch_does() -> None:
    circuit = gatekit.load(GRAPHS / "linear_regression.yaml")
    data = linear_data()
    grads = circuit.run(data).grads
    norm = math.sqrt(grads["w"] ** 2 + grads["b"] ** 2)
    assert norm > 1.0
    result = gatekit.train(circuit, data, {"steps": 1, "lr": 1.0, "clip_norm": 1.0})
    scale = 1.0 / (norm + 1e-6)  # torch.nn.utils.clip_grad_norm_'s
    assert result.params["w"] == 1.0 - grads["w"] * scale and result.params["b"] == 0.0 - grads["b"] * scale


def test_an_input_set_on_the_command_line_holds_for_the_whole_run(capsys) -> None:
    code, out, _ = train(capsys, *MOONS, "--set", "alpha=0", "--steps", "3", "-q", "--json")
    assert code == 0
    circuit = gatekit.load(GRAPHS / "moons.yaml")

    def last_loss(fixed: dict[str, float]) -> float:
        config, _ = gatekit.training.api.solver_for(circuit, None, overrides={"steps": 3})
        return gatekit.Trainer(circuit, moons_data(), config, fixed=fixed).train().history[-1].loss

    assert json.loads(out)["loss"] == last_loss({"alpha": 0.0}) != last_loss({})  # no penalty


def test_the_learning_rates_follow_the_schedule() -> None:
    circuit = gatekit.load(GRAPHS / "moons.yaml")
    result = gatekit.train(circuit, moons_data(), steps=100)
    assert [row.lr for row in result.history[:3]] == [1.0, 1.0 - 0.9 / 100, 1.0 - 1.8 / 100]
    assert result.history[-1].lr == pytest.approx(0.109, abs=1e-15)


def test_a_checkpoint_resumes_only_with_its_own_optimizer(capsys, tmp_path: Path) -> None:
    checkpoint = tmp_path / "ck.npz"
    assert main(["train", *MOONS, "--steps", "3", "-q", "--checkpoint", str(checkpoint)]) == 0
    solver = tmp_path / "adam.yaml"
    solver.write_text("optimizer: adam\nsteps: 6\n")
    code, _, err = train(capsys, *MOONS, "--solver", str(solver), "--resume", str(checkpoint), "-q")
    assert code == 2
    assert err == (
        f"error: {checkpoint}: the checkpoint was made with optimizer 'sgd', the solver now says 'adam': "
        "resume with the optimizer it was made with\n"
    )
