"""The Ansible collection upgrader.fleet as Ansible sees it (DESIGN §11): ``ansible-doc`` finds
and documents the module, and the playbook's plan (the filters it decides with) keeps sites whole."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

COLLECTIONS = Path(__file__).resolve().parents[2] / "ansible"
ANSIBLE_DOC = Path(sys.executable).with_name("ansible-doc")

pytest.importorskip("ansible", reason="ansible-core is in the test extras: pip install -e '.[test]'")
sys.path.insert(0, str(COLLECTIONS))
from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.upgrader.fleet.plugins.filter import fleet  # noqa: E402


def test_ansible_doc_shows_the_module() -> None:
    result = subprocess.run(
        [str(ANSIBLE_DOC), "upgrader.fleet.upgrader"], capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS), "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_HOME": str(Path(os.environ.get("TMPDIR", "/tmp")) / "upgrader-ansible-doc")},
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "upgrader.fleet.upgrader" in text
    for option in ("command", "root", "name", "to", "allow_major", "restore_data", "executable"):
        assert f"{option}" in text, option
    assert "EXAMPLES" in text and "RETURN VALUES" in text
    assert "check_mode" in text  # the attribute: full support


def test_ansible_doc_lists_the_module_in_the_collection() -> None:
    result = subprocess.run(
        [str(ANSIBLE_DOC), "--list", "upgrader.fleet"], capture_output=True, text=True, check=False,
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS), "ANSIBLE_NOCOLOR": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert "upgrader.fleet.upgrader" in result.stdout


def hostvars(**sites: str | None) -> dict[str, dict[str, Any]]:
    return {host: ({"upgrader_site": site} if site else {}) for host, site in sites.items()}


def test_batches_keep_a_site_whole_in_inventory_order() -> None:
    variables = hostvars(a=None, main="acme", b=None, dmz="acme", c=None)
    hosts = list(variables)
    assert fleet.batches(hosts, variables, 2) == [["a"], ["main", "dmz"], ["b", "c"]]
    assert fleet.batches(hosts, variables, 1) == [["a"], ["main", "dmz"], ["b"], ["c"]]
    assert fleet.batches(hosts, variables, 3) == [["a", "main", "dmz"], ["b", "c"]]


def test_a_site_cut_by_a_limit_is_refused() -> None:
    variables = hostvars(main="acme", dmz="acme", c=None)
    with pytest.raises(AnsibleFilterError, match="site acme: host dmz is not in this play"):
        fleet.batches(["main", "c"], variables, 2, inventory=list(variables))


@pytest.mark.parametrize("size", [0, "two"])
def test_a_batch_size_that_is_not_a_positive_number_is_refused(size: object) -> None:
    with pytest.raises(AnsibleFilterError, match="upgrader_batch"):
        fleet.batches(["a"], hostvars(a=None), size)


def test_the_lowest_version_is_compared_as_semver() -> None:
    assert fleet.lowest_version(["1.10.0", "1.9.2", None, "", "1.9.10"]) == "1.9.2"
    assert fleet.lowest_version([None, ""]) is None


def test_failed_sites_count_a_host_that_dropped_out() -> None:
    variables = hostvars(main="acme", dmz="acme", a=None, b=None)
    variables["dmz"]["upgrader_outcome"] = "failed"
    assert fleet.failed_sites(["main", "dmz", "a", "b"], variables, ["main", "dmz", "a"]) == ["acme", "b"]
