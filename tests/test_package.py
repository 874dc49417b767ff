"""The package stands alone: its wheel, installed in an empty virtual environment with only
its declared dependencies, imports and loads the digits it ships.

Builds the wheel with pip (build isolation fetches setuptools from the package index), makes a
fresh venv in a temporary folder and installs the wheel there; about 20 s with a warm pip cache.
"""

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*cmd: str | Path, cwd: Path = ROOT) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        command = " ".join(map(str, cmd))
        pytest.fail(f"{command} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, source)
    (found,) = out.glob("nnscratch-*.whl")
    return found


def test_wheel_carries_the_digits(wheel: Path) -> None:
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "nnscratch/_data/tinymnist.npz" in names


def test_installed_wheel_loads_the_digits_in_an_empty_venv(wheel: Path, tmp_path: Path) -> None:
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel)
    # Run from the temporary folder, so that nothing of the repository is importable.
    out = run(
        python,
        "-c",
        "import nnscratch.data as d, sys; t = d.load_tinymnist(); "
        "print(t.x_train.shape, t.x_test.shape, d.__file__)",
        cwd=tmp_path,
    )
    assert "(4000, 28, 28) (1000, 28, 28)" in out
    assert str(env) in out  # the installed copy, not the source tree
    listing = run(python, "-m", "pip", "list", "--format=freeze")
    installed = {line.split("==")[0].lower() for line in listing.split()}
    declared = {"nnscratch", "numpy", "tqdm", "colorama"}  # colorama: tqdm's, on Windows only
    assert installed - {"pip", "setuptools"} <= declared, installed
