"""The wheel carries the shipped workflows and the state schemas, and its command runs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

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
