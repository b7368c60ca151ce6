"""The wheel carries the shipped workflows and the state schemas, and its command runs; ``make
install-system`` installs it for production."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from upgrader import __version__

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_workflows_and_state_schemas(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("upgrader-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in [*ROOT.glob("workflows/*"), *ROOT.glob("state/*")]:
        assert f"upgrader/_data/{shipped.parent.name}/{shipped.name}" in names, shipped
    assert "upgrader/project.schema.json" in names
    assert any(name.endswith("entry_points.txt") for name in names)


def test_make_install_system_makes_a_venv_and_links_the_command(tmp_path: Path) -> None:
    """``make install-system`` (the production install where pip refuses the system Python): a venv
    in PREFIX with upgrader installed as a copy, BINDIR/upgrader linked to its command.

    To stay fast and offline-friendly the venv is made first and given this test venv's
    site-packages (a .pth line), so pip finds every dependency installed and downloads none — only
    the build backend, from the local pip cache or index as ``pip wheel`` above does; make then
    updates that venv as it would update /opt/upgrader."""
    prefix, bindir = tmp_path / "opt" / "upgrader", tmp_path / "bin"
    subprocess.run([sys.executable, "-m", "venv", str(prefix)], check=True, capture_output=True, timeout=120)
    [site_packages] = prefix.glob("lib/python3*/site-packages")
    (site_packages / "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    # The checkout must not be importable by its path: what runs has to be the installed copy.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    made = subprocess.run(["make", "-C", str(ROOT), "install-system", f"PREFIX={prefix}", f"BINDIR={bindir}",
                           f"PYTHON={sys.executable}"], capture_output=True, text=True, timeout=300, env=env,
                          check=False)
    assert made.returncode == 0, made.stdout + made.stderr

    command = bindir / "upgrader"
    assert command.is_symlink() and command.resolve() == (prefix / "bin" / "upgrader").resolve()
    version = subprocess.run([str(command), "--version"], capture_output=True, text=True, timeout=60, env=env,
                             cwd=tmp_path, check=False)
    assert (version.returncode, version.stdout) == (0, f"upgrader {__version__}\n"), version.stderr
    where = subprocess.run([str(prefix / "bin" / "python"), "-c", "import upgrader.resources as r; "
                            "print(r.__file__); print(r.workflows_dir())"], capture_output=True, text=True,
                           timeout=60, env=env, cwd=tmp_path, check=True).stdout.split()
    assert all(Path(path).is_relative_to(site_packages) for path in where), where  # a copy, not the checkout
    assert (Path(where[1]) / "upgrade.yaml").is_file()
