"""Files gatekit writes: checked before the run, replaced in one step, permissions and links kept."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gatekit.cli import main
from gatekit.io.atomic import check_output_path, write_atomically

ROOT = Path(__file__).resolve().parent.parent
NEURON = str(ROOT / "graphs" / "neuron.yaml")


def one_error(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    return line


def test_an_empty_output_name_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error(capsys, ["run", NEURON, "--output", ""])
    assert line == "error: '': no file name given; results can be written to .npz"


def test_a_name_too_long_for_its_folder_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    longest = tmp_path / ("r" * 251 + ".npz")  # 255 bytes: the most most file systems allow
    assert main(["run", NEURON, "--output", str(longest)]) == 0
    assert longest.exists()  # the temporary name is short, whatever the target's
    capsys.readouterr()
    too_long = tmp_path / ("r" * 252 + ".npz")
    line = one_error(capsys, ["run", NEURON, "--output", str(too_long)])
    assert line == f"error: {too_long}: cannot write the file: its name is longer than the 255 bytes allowed"


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "private.npz"
    path.write_bytes(b"old")
    path.chmod(0o600)
    write_atomically(path, lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symbolic_link_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "data" / "run.npz"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "latest.npz"
    link.symlink_to(real)
    assert check_output_path(link, (".npz",), "results") == ".npz"
    write_atomically(link, lambda f: f.write(b"new"))
    assert link.is_symlink() and real.read_bytes() == b"new"


class Stop(BaseException):
    """What the command line raises on SIGTERM: not an Exception, so nothing swallows it."""


def test_whatever_stops_the_writing_leaves_no_temporary_file_and_the_old_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "r.npz"
    path.write_bytes(b"old")

    def halfway(f: object) -> None:
        f.write(b"half")  # type: ignore[attr-defined]
        raise Stop

    with pytest.raises(Stop):
        write_atomically(path, halfway)
    assert os.listdir(tmp_path) == ["r.npz"]
    assert path.read_bytes() == b"old"


def test_sigterm_while_writing_ends_in_one_line_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    """In a real process: the signal arrives while the result is written."""
    script = tmp_path / "slow_write.py"
    script.write_text(
        "import os, signal, sys\n"
        "import gatekit.io.outputs as outputs\n"
        "from gatekit.cli import main\n"
        "real = outputs.write_atomically\n"
        "def slow(path, write):\n"
        "    def halfway(f):\n"
        "        f.write(b'x' * 1000)\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        write(f)\n"
        "    real(path, halfway)\n"
        "outputs.write_atomically = slow\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = tmp_path / "r.npz"
    done = subprocess.run(
        [sys.executable, str(script), "run", NEURON, "--output", str(out)],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 128 + signal.SIGTERM
    assert done.stderr == "error: stopped by SIGTERM\n"
    assert os.listdir(tmp_path) == ["slow_write.py"]
