"""``upgrader.policy``: what a Compose model asks of the host (``risks``, over hand-written models in
the short and the long syntax), refusals, and what a feed risks (``feed_warnings``)."""

from __future__ import annotations

from typing import Any

import pytest

from upgrader.policy import Risk, feed_warnings, refusal, refused, risks
from upgrader.project import Project

TOKEN_FILE = "feed.token"  # noqa: S105 - a file name
OWN = "/home/op/srv/projects/acme/export"  # a server root under /home: its own binds still count as own


def one(service: dict[str, Any], **top: Any) -> list[tuple[str, str]]:
    """(kind, detail) of the risks of a model with one service ``web``."""
    found = risks({"services": {"web": {"image": "x:1", **service}}, **top}, OWN)
    assert all(risk.service == "web" for risk in found)
    return [(risk.kind, risk.detail) for risk in found]


def kinds(service: dict[str, Any], **top: Any) -> set[str]:
    return {kind for kind, _ in one(service, **top)}


def bind(source: str, target: str = "/mnt") -> dict[str, Any]:
    return {"type": "bind", "source": source, "target": target}


# -- privileged ----------------------------------------------------------------------------------


def test_privileged_true_and_the_capabilities_that_amount_to_it() -> None:
    assert one({"privileged": True}) == [("privileged", "privileged: true")]
    assert one({"cap_add": ["ALL", "sys_admin", "CAP_SYS_MODULE"]}) == [
        ("privileged", "cap_add: ALL"), ("privileged", "cap_add: sys_admin"), ("privileged", "cap_add: CAP_SYS_MODULE")]


def test_lesser_capabilities_and_privileged_false_are_no_risk() -> None:
    assert one({"privileged": False, "cap_add": ["NET_ADMIN", "CHOWN"], "security_opt": ["no-new-privileges"]}) == []


# -- host namespaces -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup"])
def test_each_host_namespace(key: str) -> None:
    assert one({key: "host"}) == [("host_namespaces", f"{key}: host")]


@pytest.mark.parametrize("setting", [{"network_mode": "bridge"}, {"network_mode": "service:db"},
                                     {"network_mode": "none"}, {"pid": "service:db"}, {"ipc": "shareable"},
                                     {"ipc": "private"}, {"cgroup": "private"}])
def test_the_project_s_own_namespaces_are_no_risk(setting: dict[str, str]) -> None:
    assert one(setting) == []


# -- host mounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["/", "/etc", "/etc/passwd", "/root/.ssh", "/boot", "/proc/1", "/sys",
                                    "/dev", "/var/lib/docker/volumes", "/home", "/usr/bin", "/bin", "/sbin",
                                    "/lib", "/lib64/ld.so", "/libx32", "/var", "/srv/../etc", "//etc/", "~/.ssh"])
def test_a_bind_of_a_host_folder_in_either_syntax(source: str) -> None:
    assert "host_mounts" in kinds({"volumes": [f"{source}:/mnt:ro"]}), source
    assert "host_mounts" in kinds({"volumes": [bind(source)]}), source


@pytest.mark.parametrize("source", ["/srv/acme/uploads", "/var/log/acme", "/opt/acme", "/mnt/nas", "/etcetera"])
def test_other_host_paths_are_no_risk(source: str) -> None:
    assert one({"volumes": [f"{source}:/mnt", bind(source)]}) == []


def test_the_release_s_own_folder_and_named_volumes_are_no_risk() -> None:
    volumes = ["./config:/config:ro", "./data:/data", ".:/all", f"{OWN}/config/app.conf:/etc/app.conf",
               bind(f"{OWN}/data"), "cache:/cache", "/anonymous",
               {"type": "volume", "source": "cache", "target": "/c"}, {"type": "tmpfs", "target": "/tmp"}]
    assert one({"volumes": volumes}, volumes={"cache": {}}) == []


def test_a_relative_path_climbing_out_of_the_own_folder_is_resolved() -> None:
    assert one({"volumes": ["../../../../../../etc:/e"]}) == [("host_mounts", "bind mount ../../../../../../etc → /e")]
    assert one({"volumes": ["../feed.token:/t"]}) == [("host_mounts", "bind mount ../feed.token → /t")]  # /home/…


def test_without_an_own_folder_relative_sources_are_the_project_s() -> None:
    model = {"services": {"web": {"volumes": ["./data:/data", "/etc:/etc"]}}}
    assert risks(model) == [Risk("host_mounts", "web", "bind mount /etc → /etc")]


def test_a_named_volume_binding_a_host_folder() -> None:
    volumes = {"etc": {"driver": "local", "driver_opts": {"type": "none", "o": "bind", "device": "/etc"}},
               "nfs": {"driver_opts": {"type": "nfs", "o": "addr=10.0.0.1,rw", "device": ":/export"}},
               "own": {"driver_opts": {"o": "bind", "device": f"{OWN}/data"}}}
    service = {"volumes": ["etc:/a", {"type": "volume", "source": "etc", "target": "/b"}, "nfs:/c", "own:/d"]}
    assert one(service, volumes=volumes) == [("host_mounts", "volume etc binds /etc → /a"),
                                             ("host_mounts", "volume etc binds /etc → /b")]


def test_a_secret_or_config_read_from_a_host_file() -> None:
    top = {"secrets": {"shadow": {"file": "/etc/shadow"}, "own": {"file": f"{OWN}/config/key"}},
           "configs": {"key": {"file": "/root/.ssh/id_ed25519"}}}
    assert one({"secrets": ["shadow", {"source": "own"}], "configs": [{"source": "key", "target": "/k"}]}, **top) == [
        ("host_mounts", "secret shadow from file /etc/shadow"),
        ("host_mounts", "config key from file /root/.ssh/id_ed25519")]


# -- the Docker socket ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["/var/run/docker.sock", "/run/docker.sock", "/run/user/1000/docker.sock",
                                    "/var/run", "/run", "/run/../var/run/docker.sock"])
def test_the_docker_socket_in_either_syntax(source: str) -> None:
    assert one({"volumes": [f"{source}:/var/run/docker.sock"]}) == [
        ("docker_socket", f"bind mount {source} → /var/run/docker.sock")]
    assert one({"volumes": [bind(source, "/s")]}) == [("docker_socket", f"bind mount {source} → /s")]


def test_the_docker_socket_as_a_device_in_either_syntax() -> None:
    assert one({"devices": ["/var/run/docker.sock:/sock:rwm",
                            {"source": "/run/docker.sock", "target": "/s", "permissions": "rwm"}]}) == [
        ("docker_socket", "device /var/run/docker.sock → /sock"), ("docker_socket", "device /run/docker.sock → /s")]


def test_other_devices_are_no_risk() -> None:
    assert one({"devices": ["/dev/fuse:/dev/fuse", {"source": "/dev/dri/renderD128", "target": "/dev/dri"}]}) == []


def test_a_folder_above_both_is_a_host_mount_and_the_socket() -> None:
    assert one({"volumes": ["/:/host"]}) == [("host_mounts", "bind mount / → /host"),
                                             ("docker_socket", "bind mount / → /host")]
    assert kinds({"volumes": [bind("/var")]}) == {"host_mounts", "docker_socket"}


# -- the whole model ------------------------------------------------------------------------------


def test_services_in_order_each_risk_once_and_odd_entries_skipped() -> None:
    model = {"services": {
        "web": {"privileged": True, "volumes": ["/etc:/a", "/etc:/a", 7, None], "devices": [3]},
        "db": {"network_mode": "host", "secrets": [{"source": "missing"}]},
        "odd": "not a mapping",
    }}
    assert risks(model) == [Risk("privileged", "web", "privileged: true"),
                            Risk("host_mounts", "web", "bind mount /etc → /a"),
                            Risk("host_namespaces", "db", "network_mode: host")]
    assert risks({}) == [] and risks({"services": None}) == []


def test_refused_and_the_refusal_line(tmp_path: Any) -> None:
    found = [Risk("host_namespaces", "db", "network_mode: host"), Risk("privileged", "web", "privileged: true"),
             Risk("privileged", "worker", "cap_add: ALL")]
    project = Project(tmp_path, "acme", {"refuse": ["privileged", "docker_socket"]})
    assert refused(project, found) == found[1:]
    assert refused(Project(tmp_path, "acme", {}), found) == []
    line = refusal("1.1.0", refused(project, found))
    assert line == ("release 1.1.0 refused: service web asks for privileged (privileged: true), "
                    "which project.yaml's refuse: lists (and 1 more)")


# -- the feed ------------------------------------------------------------------------------------


def feed(tmp_path: Any, **config: Any) -> list[str]:
    return feed_warnings(Project(tmp_path, "acme", config))


def test_a_signed_https_feed_has_no_warning(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPGRADER_FEED_TOKEN", "t")
    assert feed(tmp_path, feed="https://updates.example.com/", public_key="k", token_file=TOKEN_FILE) == []
    assert feed(tmp_path) == []


def test_unsigned_plain_http_and_a_token_in_clear(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UPGRADER_FEED_TOKEN", raising=False)
    [unsigned] = feed(tmp_path, feed="https://updates.example.com/")
    assert "unsigned" in unsigned and "fix: set public_key" in unsigned
    plain, token = feed(tmp_path, feed="http://updates.example.com/", public_key="k", token_file=TOKEN_FILE)
    assert "plain http" in plain and "fix: use the feed's https:// address" in plain
    assert "token (token_file)" in token and "clear text" in token and "fix: " in token
    assert len(feed(tmp_path, feed="http://updates.example.com/", public_key="k")) == 1
    monkeypatch.setenv("UPGRADER_FEED_TOKEN", "secret-value")
    warnings = feed(tmp_path, feed="http://updates.example.com/")
    assert len(warnings) == 3 and "token (UPGRADER_FEED_TOKEN)" in warnings[2]
    assert not any("secret-value" in line or "\n" in line for line in warnings)


def test_a_token_from_the_environment_is_found_where_the_feed_client_finds_it(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from upgrader.runtime import process

    monkeypatch.delenv("UPGRADER_FEED_TOKEN", raising=False)
    monkeypatch.setenv("UPGRADER_FEED_TOKEN_ACME", "secret-value")
    assert "token (UPGRADER_FEED_TOKEN_ACME)" in feed(tmp_path, feed="http://updates.example.com/", public_key="k")[1]
    monkeypatch.delenv("UPGRADER_FEED_TOKEN_ACME")
    monkeypatch.setenv("UPGRADER_FEED_TOKEN", "secret-value")
    with process.tokens_withheld("acme"):  # as under the CLI: the variable is out of os.environ
        assert "token (UPGRADER_FEED_TOKEN)" in feed(tmp_path, feed="http://updates.example.com/", public_key="k")[1]


@pytest.mark.parametrize("model", [{"services": ["web"]}, {"services": {"web": {"volumes": 3, "cap_add": "ALL",
                                                                                 "devices": {"a": 1}}}},
                                   {"services": {"web": {"volumes": ["v:/v"], "secrets": ["s"]}}, "volumes": [1],
                                    "secrets": "s"}])
def test_a_malformed_model_raises_nothing(model: dict[str, Any]) -> None:
    assert risks(model) == []
