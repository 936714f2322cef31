"""The wheel really ships chainrule: build it from a copy of the source tree (no network: the
virtualenv's setuptools, no build isolation), install it into a fresh virtualenv and run the
installed `chainrule` from there, away from the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "chainrule" / "playground" / "static"


def _run(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    """(the fresh virtualenv's python, an environment without the source tree, a work dir)."""
    pytest.importorskip("setuptools")
    work = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    source = work / "source"  # a copy, so the build leaves no build/ or egg-info behind here
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    dist = work / "dist"
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    _run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, source,
         cwd=work, env=env)  # fmt: skip
    (wheel,) = dist.glob("chainrule-*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=work, env=env)
    python = venv / "bin" / "python"
    _run(*pip, "--python", python, "install", "--no-deps", "--no-index", wheel, cwd=work, env=env)
    # chainrule's dependencies (numpy, safetensors, ...) from this virtualenv, without running
    # its .pth files (so not its editable chainrule): a plain path line, added after the
    # fresh virtualenv's own site-packages, which holds the wheel's chainrule
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                        cwd=work, env=env).stdout.strip())  # fmt: skip
    (purelib / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, env, work


def test_the_wheel_holds_the_package_data_and_the_license(installed) -> None:
    _, _, work = installed
    (wheel,) = (work / "dist").glob("chainrule-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in STATIC.iterdir():
        assert f"chainrule/playground/static/{path.name}" in names, path.name
    assert "chainrule/py.typed" in names
    # every file of the package that is not Python source (the coverage page's reasons ...)
    package = ROOT / "src" / "chainrule"
    for path in package.rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc", ".nbi", ".nbc"):
            assert f"chainrule/{path.relative_to(package).as_posix()}" in names, path
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_installed_chainrule_comes_from_the_wheel(installed) -> None:
    python, env, work = installed
    where = _run(python, "-c", "import chainrule; print(chainrule.__file__, chainrule.__version__)",
                 cwd=work, env=env).stdout.split()  # fmt: skip
    assert Path(where[0]).is_relative_to(work / "venv"), where
    assert not Path(where[0]).is_relative_to(ROOT)
    from chainrule.version import __version__  # this tree's version

    assert where[1] == __version__


def test_installed_command_helps_and_trains(installed) -> None:
    python, env, work = installed
    chainrule = python.parent / "chainrule"
    assert "train" in _run(chainrule, "--help", cwd=work, env=env).stdout
    out = work / "run"
    _run(chainrule, "train", "--data", "xor", "--hidden", "8", "--epochs", "2", "--samples",
         "200", "--no-progress", "--out", out, cwd=work, env=env)  # fmt: skip
    assert (out / "model.safetensors").stat().st_size > 0
    assert (out / "metrics.json").is_file()


def test_installed_playground_finds_its_static_files(installed) -> None:
    python, env, work = installed
    listing = _run(python, "-c", (
        "from importlib.resources import files; import chainrule.playground.server as s; "
        "print(s.STATIC); print(*sorted(p.name for p in files('chainrule.playground')"
        ".joinpath('static').iterdir()))"
    ), cwd=work, env=env).stdout.splitlines()  # fmt: skip
    assert Path(listing[0]).is_relative_to(work / "venv")
    assert listing[1].split() == sorted(p.name for p in STATIC.iterdir())
