# -*- coding: utf-8 -*-
# MIT License (see the repository's LICENSE)
"""Filters of the playbook ``upgrader.fleet.rollout``: the batch plan and the fleet target,
decided on the controller from the inventory, before anything runs on a server.

``serial`` cannot keep a site (a main server and its DMZ server) in one batch: it cuts the
inventory into slices by count. So the playbook runs over every host at once and walks the batches
these filters plan, one after the other."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.utils.version import SemanticVersion


def _site(hostvars, host):
    site = hostvars[host].get("upgrader_site")
    return str(site) if site not in (None, "") else None


def batches(hosts, hostvars, size=1, inventory=None):
    """The hosts in batches of at most ``size``, in the order given (the inventory's), a site never
    split: a site's hosts go together, in the batch of its first host; a site larger than ``size``
    is a batch of its own. With ``inventory`` (every host name, ``groups['all']``), a site whose
    hosts are not all among ``hosts`` (a ``--limit`` that cut it) is refused: upgrading part of a
    site is what the plan exists to prevent."""
    try:
        size = int(size)
    except (TypeError, ValueError):
        raise AnsibleFilterError("upgrader_batch must be a whole number of hosts, not %r" % (size,))
    if size < 1:
        raise AnsibleFilterError("upgrader_batch must be at least 1, not %d" % size)
    hosts = list(hosts)
    units = []  # each a site's hosts, or a host of no site alone, in order of first appearance
    by_site = {}
    for host in hosts:
        site = _site(hostvars, host)
        if site is None:
            units.append([host])
        elif site in by_site:
            by_site[site].append(host)
        else:
            by_site[site] = [host]
            units.append(by_site[site])
    if inventory is not None:
        for host in inventory:
            site = _site(hostvars, host)
            if site in by_site and host not in hosts:
                raise AnsibleFilterError(
                    "site %s: host %s is not in this play (a --limit?): a site is rolled out whole, "
                    "with all its hosts" % (site, host))
    planned = []
    for unit in units:
        if planned and len(planned[-1]) + len(unit) <= size:
            planned[-1].extend(unit)
        else:
            planned.append(list(unit))
    return planned


def lowest_version(versions):
    """The lowest of ``versions`` (semantic versions; empty ones left out), or None."""
    found = [str(version) for version in versions if version]
    try:
        return min(found, key=SemanticVersion) if found else None
    except ValueError as error:
        raise AnsibleFilterError("not a semantic version: %s" % error)


def site_of(host, hostvars):
    """The site of ``host`` (``upgrader_site``), or the host's own name when it has none."""
    return _site(hostvars, host) or host


def failed_sites(batch, hostvars, active):
    """The sites (see ``site_of``) of ``batch`` with a host that failed: its outcome is ``failed``,
    or it is no longer among the ``active`` hosts of the play (unreachable)."""
    active = set(active)
    found = []
    for host in batch:
        if host not in active or hostvars[host].get("upgrader_outcome") == "failed":
            site = site_of(host, hostvars)
            if site not in found:
                found.append(site)
    return found


def results(hosts, hostvars):
    """Each host's ``upgrader_result`` (the report's entry), in the order given; a host that has
    none (it became unreachable) is reported as such, where it was at the start if that is known."""
    report = {}
    for host in hosts:
        entry = hostvars[host].get("upgrader_result")
        if not entry:
            entry = {"site": _site(hostvars, host), "from": hostvars[host].get("upgrader_from"), "to": None,
                     "outcome": "unreachable", "downtime_seconds": None, "resumed": False,
                     "error": "the host could not be reached or its task list ended early"}
        report[host] = dict(entry)
    return report


class FilterModule(object):
    def filters(self):
        return {"batches": batches, "lowest_version": lowest_version, "site_of": site_of,
                "failed_sites": failed_sites, "results": results}
