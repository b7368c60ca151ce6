#!/usr/bin/python
# -*- coding: utf-8 -*-
# MIT License (see the repository's LICENSE)
"""The Ansible module ``upgrader.fleet.upgrader``: one upgrader command on one server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: upgrader
short_description: Upgrade, check, resume or roll back a server that upgrader keeps up to date
version_added: "0.1.0"
description:
  - Runs the C(upgrader) command on the managed host for one project and reports what it did.
  - Runs it without a terminal and with standard input closed, as cron does, so it never waits
    for an answer. Unlike C(upgrader run --cron) it does not carry on an unfinished run on its
    own (use O(command=resume)) and does not wait the project's C(jitter).
  - Reads C(upgrader status --json) before and after a command that may change the server, and
    reports C(changed) only when the installed version changed.
  - Fails with upgrader's own one-line error and its exit code in RV(rc).
  - In check mode nothing runs on the server but C(status) and C(check); O(command=run) says what
    C(run) would install.
  - With C(--diff), shows the installed version before and after.
author:
  - upgrader maintainers
options:
  command:
    description:
      - V(run) installs the release the project's policy allows (or O(to)).
      - V(check) plans, changing nothing (C(upgrader check --json), returned as RV(plan)).
      - V(status) reads the state (C(upgrader status --json), returned as RV(status)).
      - V(resume) carries on a run that was interrupted or paused.
      - V(rollback) undoes the current run, or goes back to the release that ran before the last
        completed run.
    type: str
    choices: [run, check, status, rollback, resume]
    default: run
  root:
    description:
      - The server folder (C(--root)). Default, upgrader's own (C($UPGRADER_ROOT), else the
        folder the module runs in).
    type: path
  name:
    description:
      - The project (C(-n)); may be left out when the server folder holds one project.
    type: str
  to:
    description:
      - With V(run) and V(check), this release instead of the newest one the policy allows
        (C(--to)); it also installs a release that is quarantined or held.
    type: str
  allow_major:
    description:
      - With V(run) and V(check), let the plan cross a major version (C(--allow-major)).
    type: bool
    default: false
  restore_data:
    description:
      - With V(rollback), also restore the data snapshot the run took (C(--restore-data)). Of a
        completed run, what was written since is lost.
    type: bool
    default: false
  executable:
    description:
      - The C(upgrader) program, a path or a name looked up on the PATH (for example the
        C(bin/upgrader) of the virtualenv it was installed in).
    type: str
    default: upgrader
notes:
  - Needs C(upgrader) on the managed host; the module itself needs only Python's standard library.
  - A run can take as long as the project's workflow does (a download, an image pull, the health
    wait); set the task's C(timeout) above that if you set one.
seealso:
  - name: The fleet guide
    description: Rolling a release out across many servers with the playbook upgrader.fleet.rollout.
    link: https://github.com/upgrader/upgrader/blob/main/docs/fleet.md
attributes:
  check_mode:
    support: full
    description: Runs C(upgrader check) instead of a command that changes the server.
  diff_mode:
    support: full
    description: The installed version before and after.
"""

EXAMPLES = r"""
- name: Upgrade the server to the newest release its policy allows
  upgrader.fleet.upgrader:
    root: /srv/acme
    name: acme

- name: Install exactly 1.4.2, from the upgrader in a virtualenv
  upgrader.fleet.upgrader:
    root: /srv/acme
    name: acme
    to: 1.4.2
    executable: /opt/upgrader/bin/upgrader

- name: What would run install?
  upgrader.fleet.upgrader:
    command: check
    root: /srv/acme
  register: acme_check

- name: Carry on a run a lost connection left interrupted
  upgrader.fleet.upgrader:
    command: resume
    root: /srv/acme
  when: acme_check.status.interrupted

- name: Go back to the release before, with the data as it was then
  upgrader.fleet.upgrader:
    command: rollback
    root: /srv/acme
    restore_data: true
"""

RETURN = r"""
changed:
  description: Whether the installed version changed (in check mode, whether it would).
  returned: always
  type: bool
rc:
  description: upgrader's exit code (0 done or nothing to do, 1 the upgrade failed and the release
    before runs, 2 a usage or configuration error, 3 a person must look, 75 another run holds the lock).
  returned: always
  type: int
  sample: 0
status:
  description: C(upgrader status --json) after the command (in check mode, as it is).
  returned: always
  type: dict
  sample: {"project": "acme", "installed": "1.1.0", "run": null, "interrupted": false, "lock": null,
           "quarantined": []}
plan:
  description: C(upgrader check --json) (O(command=check), and O(command=run) in check mode).
  returned: when command is check, or run in check mode
  type: dict
  sample: {"project": "acme", "installed": "1.0.0", "target": "1.1.0", "path": ["1.1.0"],
           "major_available": null, "quarantined": [], "up_to_date": false}
installed_before:
  description: The version installed before the command (null when none was).
  returned: always
  type: str
  sample: 1.0.0
installed_after:
  description: The version installed after the command (in check mode, the version it would be).
  returned: always
  type: str
  sample: 1.1.0
runs:
  description: The runs the command finished, as C(upgrader history --json) lists them, oldest first
    (a plan with an upgrade stop takes more than one).
  returned: when command is run, resume or rollback, outside check mode
  type: list
  elements: dict
downtime_seconds:
  description: The downtime of those runs together, in seconds (null when no run stopped the server).
  returned: when command is run, resume or rollback, outside check mode
  type: float
  sample: 1.8
cmd:
  description: The command line that ran.
  returned: always
  type: list
  elements: str
stdout:
  description: What the command printed on standard output.
  returned: when command is run, resume or rollback
  type: str
stderr:
  description: What the command printed on standard error.
  returned: when command is run, resume or rollback
  type: str
"""

import json
import os
import subprocess

from ansible.module_utils.basic import AnsibleModule

CHANGING = ("run", "resume", "rollback")
UNFINISHED = ("running", "paused", "rolling_back", "failed")


def error_line(completed, fallback):
    """upgrader's own one-line error: its last line on stderr (``upgrader: error: …``), else on
    stdout (a failed run says why there), else ``fallback``."""
    for stream in (completed.stderr, completed.stdout):
        lines = [line.strip() for line in (stream or "").splitlines() if line.strip()]
        if lines:
            return lines[-1]
    return fallback


class Upgrader(object):
    """The ``upgrader`` command of one project on this host."""

    def __init__(self, module):
        self.module = module
        params = module.params
        executable = params["executable"]
        if os.sep not in executable:
            executable = module.get_bin_path(executable, required=True)
        elif not os.access(executable, os.X_OK):
            module.fail_json(msg="%s is not an executable upgrader" % executable, rc=None)
        self.base = [executable]
        if params["root"]:
            self.base += ["--root", params["root"]]
        if params["name"]:
            self.base += ["-n", params["name"]]

    def call(self, *words):
        """Run upgrader with ``words``: the completed process. Standard input is closed (not
        inherited, as ``run_command`` would leave it) so that nothing can wait for an answer."""
        argv = self.base + list(words)
        environment = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        try:
            return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, universal_newlines=True, env=environment,
                                  check=False)
        except OSError as error:
            self.module.fail_json(msg="cannot run %s: %s" % (argv[0], error), rc=None, cmd=argv)

    def json(self, *words):
        """The JSON document ``upgrader … --json`` prints; fails the module with upgrader's error."""
        completed = self.call(*(list(words) + ["--json"]))
        argv = self.base + list(words) + ["--json"]
        if completed.returncode != 0:
            self.module.fail_json(msg=error_line(completed, "upgrader %s failed" % words[0]),
                                  rc=completed.returncode, cmd=argv, stdout=completed.stdout,
                                  stderr=completed.stderr)
        try:
            return json.loads(completed.stdout)
        except ValueError:
            self.module.fail_json(msg="upgrader %s --json printed no JSON: %s" % (words[0], completed.stdout[:200]),
                                  rc=completed.returncode, cmd=argv, stderr=completed.stderr)

    def status(self):
        return self.json("status")

    def check(self):
        params = self.module.params
        words = ["check"]
        if params["to"]:
            words += ["--to", params["to"]]
        if params["allow_major"]:
            words.append("--allow-major")
        return self.json(*words)

    def history_seen(self):
        """What ``history --json`` lists now: (id, finished_at) of each run. A completed run that
        is rolled back keeps its id and finishes again, so the id alone would hide it."""
        return set((entry["id"], entry.get("finished_at")) for entry in self.json("history"))


def command_words(params):
    """The command line of a changing command (run, resume, rollback) after the global options."""
    words = [params["command"]]
    if params["command"] == "run":
        if params["to"]:
            words += ["--to", params["to"]]
        if params["allow_major"]:
            words.append("--allow-major")
    if params["command"] == "rollback" and params["restore_data"]:
        words.append("--restore-data")
    return words


def predicted(command, status, plan):
    """In check mode: (changed, installed after) that ``command`` would give, from ``status`` and
    (for run) ``plan``; a resume or rollback cannot know the version it would end on."""
    installed = status["installed"]
    run = status.get("run") or {}
    if command == "run":
        moves = bool(plan["target"]) and plan["target"] != installed and not plan["up_to_date"]
        return moves, plan["target"] if moves else installed
    if command == "resume":
        return run.get("status") in UNFINISHED, installed
    return bool(run) and run.get("status") != "rolled_back", installed


def main():
    module = AnsibleModule(
        argument_spec=dict(
            command=dict(type="str", default="run", choices=["run", "check", "status", "rollback", "resume"]),
            root=dict(type="path"),
            name=dict(type="str"),
            to=dict(type="str"),
            allow_major=dict(type="bool", default=False),
            restore_data=dict(type="bool", default=False),
            executable=dict(type="str", default="upgrader"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    upgrader = Upgrader(module)
    command = params["command"]
    before = upgrader.status()
    result = dict(changed=False, rc=0, status=before, installed_before=before["installed"],
                  installed_after=before["installed"], cmd=upgrader.base + [command])

    if command == "status":
        module.exit_json(**result)
    if command == "check" or (command == "run" and module.check_mode):
        result["plan"] = upgrader.check()
        result["cmd"] = upgrader.base + ["check", "--json"]
    if command == "check":
        module.exit_json(**result)
    if module.check_mode:
        changed, after = predicted(command, before, result.get("plan"))
        result.update(changed=changed, installed_after=after)
        if module._diff:
            result["diff"] = dict(before="installed: %s\n" % before["installed"], after="installed: %s\n" % after)
        module.exit_json(**result)

    seen = upgrader.history_seen()
    words = command_words(params)
    completed = upgrader.call(*words)
    after = upgrader.status()
    runs = [entry for entry in upgrader.json("history") if (entry["id"], entry.get("finished_at")) not in seen]
    runs.reverse()  # history is newest first; the report reads better in the order they ran
    downtimes = [entry["downtime_seconds"] for entry in runs if entry.get("downtime_seconds") is not None]
    result.update(
        changed=after["installed"] != before["installed"], rc=completed.returncode, status=after,
        installed_after=after["installed"], runs=runs, downtime_seconds=sum(downtimes) if downtimes else None,
        cmd=upgrader.base + words, stdout=completed.stdout, stderr=completed.stderr,
    )
    if module._diff:
        result["diff"] = dict(before="installed: %s\n" % before["installed"],
                              after="installed: %s\n" % after["installed"])
    if completed.returncode != 0:
        module.fail_json(msg=error_line(completed, "upgrader %s exited %d" % (command, completed.returncode)),
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
