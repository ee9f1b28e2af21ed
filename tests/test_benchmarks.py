"""Smoke tests of the benchmarks: each runs, and its correctness checks pass.

No timing is asserted: the machines that run the tests are shared and noisy.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "scalar_circuit.py"


def load_script(path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import a benchmark script as a module (its folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"{path.stem}_bench", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_script(SCRIPT, monkeypatch)


def test_scalar_circuit_benchmark_runs_and_checks_pass(
    bench: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--quick", "--families", "mlp", "--sizes", "300,2000", "--repeat", "1", "--target-nodes", "3000"]
    rows = bench.main(argv)

    out = capsys.readouterr().out
    assert "Load: gatekit.load" in out
    assert "gatekit/tape" in out
    assert "micrograd/gatekit" in out
    assert "target (gatekit.load" in out
    assert "targets (issue 14" in out
    assert [row.name for row in rows] == ["mlp 300", "mlp 2,000"]
    micrograd_ok = not isinstance(bench.import_micrograd(), str)
    for row in rows:
        assert row.gates == bench.shape_counts(row.nin, row.width)[0]
        assert any(check.startswith("per-gate loops: output and") for check in row.checks)
        assert any(check.startswith("tape: output and") for check in row.checks)
        assert math.isfinite(row.load) and math.isfinite(row.run) and math.isfinite(row.tape_total)
        assert math.isfinite(row.per_gate)
        if micrograd_ok:
            assert any(check.startswith("micrograd: output and") for check in row.checks)
            assert math.isfinite(row.micrograd_total)


def test_the_other_families_run_and_their_checks_pass(
    bench: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--families", "chain,dag,dag-any,wide", "--sizes", "200", "--repeat", "1", "--load-repeat", "1"]
    rows = bench.main([*argv, "--target-nodes", "0", "--in-process"])

    out = capsys.readouterr().out
    assert [row.name for row in rows] == ["chain 200", "dag 200", "dag-any 200", "wide 200"]
    for row in rows:
        assert abs(row.gates - 200) <= 3
        assert [check.split(":")[0] for check in row.checks] == ["per-gate loops", "tape"]
        assert math.isfinite(row.run) and math.isfinite(row.per_gate) and math.isfinite(row.tape_total)
        assert f"note: micrograd: n/a for {row.family} (its Value has no " in out
        assert (row.groups == 0) == (row.batching == "per-gate") == (row.batched_gates == 0)
    assert rows[0].groups == 0  # nothing in a chain can run together
    assert "chains and random DAGs at most 2x the tape:" in out


def test_every_family_uses_the_gates_it_says(bench: ModuleType) -> None:
    dag = bench.build("dag", 3000)
    assert dag.ops == set(bench.DAG_OPS)  # all 16 gate types
    assert {len(ins) for _, _, ins in dag.gates[:-1]} == {1, 2, 3}
    readers = [name for _, _, ins in dag.gates for name in ins]
    assert len(readers) > len(set(readers))  # fan-out
    assert bench.build("chain", 8).ops == {bench.SIN, bench.MUL, bench.ADD, bench.TANH}
    for family in bench.FAMILIES:
        circuit = bench.build(family, 500)
        assert circuit.n_gates == pytest.approx(500, abs=20), family


def test_a_wrong_gradient_aborts(bench: ModuleType) -> None:
    want = {"w": 1.0, "x": -2.0}
    assert bench.check_match("ref", want, {"w": 1.0, "x": -2.0}) == 0.0
    with pytest.raises(bench.MismatchError, match="ref disagrees with gatekit on 1 of 2"):
        bench.check_match("ref", want, {"w": 1.0, "x": -2.0 * (1 + 1e-6)})
    with pytest.raises(bench.MismatchError, match="not the same names"):
        bench.check_match("ref", want, {"w": 1.0})


def test_neuron_batch_benchmark_runs_and_its_gradients_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_script(SCRIPT.parent / "neuron_batch.py", monkeypatch)
    rows = module.main(["--sizes", "50,2000", "--repeat", "1"])  # agree() raises on any mismatch
    assert [row["B"] for row in rows] == [50, 2000]
    assert all(row["gatekit"] > 0 and row["numpy"] > 0 for row in rows)


def test_modules_benchmark_runs_and_its_gradients_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_script(SCRIPT.parent / "modules.py", monkeypatch)
    figures = module.main(["--width", "3", "--layers", "2", "--repeat", "1"])  # raises on a mismatch
    assert figures["gates"] == 2 * 3 * 5  # per neuron: 3 products, a sum, a tanh


def test_train_benchmark_runs_and_prints_the_ratios(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load_script(SCRIPT.parent / "train.py", monkeypatch)
    runs = module.main(["--steps", "2", "--repeat", "1", "--micrograd-steps", "1"])

    out = capsys.readouterr().out
    assert "gatekit vs torch:" in out
    if module.import_torch() is None:  # CI: the committed figure, labelled as such
        assert "torch: not installed; the committed reference:" in out
        assert "vs the committed reference" in out
    else:
        assert runs["torch"].steps == 2
    if isinstance(module.import_micrograd(), str):
        assert "micrograd: micrograd is not installed" in out
    else:
        assert "gatekit vs micrograd:" in out
        assert runs["micrograd"].steps == 1
    gatekit_run = runs["gatekit"]
    assert gatekit_run.steps == 2
    assert 0.0 <= gatekit_run.accuracy <= 1.0
    assert set(gatekit_run.params) == {"W1", "b1", "W2", "b2", "W3", "b3"}


def test_the_committed_torch_reference_says_how_it_was_made() -> None:
    reference = json.loads((SCRIPT.parent / "reference" / "train_torch.json").read_text())
    assert reference["steps_per_second"] > 0
    assert "benchmarks/train.py" in reference["command"]
    assert "--write-reference" in reference["command"]
    assert {"torch", "date", "machine", "steps", "repeat", "gatekit_steps_per_second"} <= set(reference)


def test_large_file_benchmark_runs_both_forms_of_both_shapes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load_script(SCRIPT.parent / "large_file.py", monkeypatch)
    rows = module.main(["--quick", "--sizes", "300"])

    out = capsys.readouterr().out
    assert [(row.shape, row.form) for row in rows] == [
        ("chain", "yaml"),
        ("chain", "json"),
        ("mlp", "yaml"),
        ("mlp", "json"),
    ]
    assert rows[0].gates == rows[1].gates == 300
    assert rows[2].gates == rows[3].gates == module.mlp_gates(module.mlp_width(300))
    for row in rows:
        assert row.load > 0 and row.parse > 0 and row.load_peak >= 0
    assert "the JSON form loads" in out
    assert "(CSafeLoader)" in out and "(json.loads)" in out


def test_the_large_file_benchmark_writes_one_circuit_in_both_forms(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import gatekit

    module = load_script(SCRIPT.parent / "large_file.py", monkeypatch)
    circuit = module.mlp(200)
    results = []
    for form in ("yaml", "json"):
        path = tmp_path / f"mlp.{form}"
        module.write(circuit, path)
        results.append(gatekit.load(path).run())
    assert results[0].outputs == results[1].outputs
    assert results[0].grads == results[1].grads


def test_scale_benchmark_runs_every_way_and_its_gradients_agree(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("distributed")
    module = load_script(SCRIPT.parent / "scale.py", monkeypatch)
    small = ["--sizes", "2e4", "--chunk-rows", "5000", "--repeat", "1"]
    rows = module.main([*small, "--workers", "1", "--memory-limit", "500MB"])
    assert [row.way for row in rows] == ["numpy", "dask threads", "cluster 1 worker"]
    assert all(row.rows == 20_000 and row.rate > 0 for row in rows)
    assert len(rows[-1].peak) == 1  # one worker's peak
    out = capsys.readouterr().out
    assert "overhead at 20,000 rows (time / NumPy's):" in out
    assert "cluster 1 worker:" in out
