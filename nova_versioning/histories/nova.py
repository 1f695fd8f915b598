# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""The ``nova`` history provider: Nova's own service version history.

``[versioning]/history_provider = nova`` makes every tool of this library
answer as Nova does on a Nova deployment: the service version table, the
release names, the oldest supported release and the compute RPC release
aliases are Nova's, and so are the rules they are read by:

* the oldest supported release starts at the very service version Nova's
  alias gives it (``OLDEST_SUPPORTED_SERVICE_VERSION``; a compute between
  the previous release and it is too old, as ``raise_if_old_compute``
  says);
* several releases may share one service version (Antelope, Bobcat and
  Caracal are all 66);
* an explicit or release-name pin is accepted for any version Nova's
  compute RPC API knows (``VERSION_ALIASES`` reach back to Icehouse's
  3.23); one older than the oldest supported release is logged as a
  warning, not refused;
* Nova's history describes the compute RPC API only: ``auto`` for other
  APIs uses the sending code's latest version.

Where the tables come from, said in every report (``VersionHistory.source``):

* **live**: the installed ``nova`` package, when there is one. Its two
  modules are read as source text, not imported: importing Nova would
  register Nova's configuration options on the process's global
  oslo.config CONF, next to this library's, and pull in most of Nova.
  The four tables are plain literals in Nova's source, and the nova-interop
  tests check that what is read equals what Nova's imported modules hold.
* **snapshot**: otherwise, the copy bundled with this library
  (``nova_snapshot.json``), written by ``tools/nova-history-snapshot.py``
  from an installed Nova and naming that Nova's version.
"""

import ast
import importlib.metadata
import importlib.util
import json
import os

from oslo_log import log as logging

from nova_versioning import exception
from nova_versioning.histories import nova_tables
from nova_versioning import history as nv_history

LOG = logging.getLogger(__name__)

NAME = 'nova'

SNAPSHOT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'nova_snapshot.json')

RULES = nv_history.HistoryRules(
    oldest_supported_starts=nv_history.AT_RELEASE,
    shared_release_versions=True,
    old_pins=nv_history.WARN,
    explicit_versions=nv_history.KNOWN,
    product='Nova')

_TABLES = nova_tables.TABLES


class NovaTablesUnreadable(Exception):
    """Nova's tables could not be read from its source."""


def _assignments(body, name):
    for node in body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    yield node.value
        elif (isinstance(node, ast.AnnAssign) and node.value is not None
              and isinstance(node.target, ast.Name)
              and node.target.id == name):
            yield node.value


def _literal(tree, path, cls, name):
    body = tree.body
    if cls is not None:
        classes = [node for node in body
                   if isinstance(node, ast.ClassDef) and node.name == cls]
        if len(classes) != 1:
            raise NovaTablesUnreadable('%s: no single class %s'
                                       % (path, cls))
        body = classes[0].body
    values = list(_assignments(body, name))
    if len(values) != 1:
        raise NovaTablesUnreadable('%s: %s is assigned %d times, not once'
                                   % (path, name, len(values)))
    try:
        return ast.literal_eval(values[0])
    except ValueError:
        raise NovaTablesUnreadable('%s: %s is not a literal' % (path, name))


def read_tables(package_dir):
    """Nova's tables, read from the source of an installed Nova.

    :param package_dir: the directory of ``nova/__init__.py``.

    :returns: dict with the keys of ``_TABLES``.
    :raises NovaTablesUnreadable: a file is missing, or a table is not the
        one literal assignment it is in the Nova releases known here.
    """
    trees = {}
    tables = {}
    for key, (module, cls, name) in _TABLES.items():
        path = os.path.join(package_dir, module)
        if path not in trees:
            try:
                with open(path, encoding='utf-8') as source:
                    trees[path] = ast.parse(source.read(), path)
            except (OSError, SyntaxError, ValueError) as exc:
                raise NovaTablesUnreadable('%s: %s' % (path, exc))
        tables[key] = _literal(trees[path], path, cls, name)
    return tables


def installed_nova():
    """(package directory, version) of the installed nova, or None."""
    try:
        spec = importlib.util.find_spec('nova')
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    package_dir = list(spec.submodule_search_locations)[0]
    try:
        version = importlib.metadata.version('nova')
    except importlib.metadata.PackageNotFoundError:
        version = 'unknown'
    return package_dir, version


def load_snapshot(path=SNAPSHOT):
    """(tables, Nova version) of the bundled snapshot."""
    with open(path, encoding='utf-8') as snapshot:
        data = json.load(snapshot)
    return data['tables'], data['nova_version']


def build(tables, source):
    """A VersionHistory from Nova's tables.

    Release names are Nova's, lower-cased as pins are written
    (``Gazpacho`` -> ``gazpacho``); the history's entries keep every key
    Nova gives (today only ``compute_rpc``).

    :raises InvalidHistory: the tables are not consistent.
    """
    try:
        entries = [dict(entry) for entry in
                   tables['service_version_history']]
        releases = {name.lower(): version for name, version in
                    tables['service_version_aliases'].items()}
        oldest = tables['oldest_supported_service_version'].lower()
        aliases = {'compute': {name.lower(): rpc for name, rpc in
                               tables['compute_version_aliases'].items()}}
        service_version = tables['service_version']
    except (KeyError, TypeError, AttributeError) as exc:
        raise exception.InvalidHistory(
            name=NAME, reason='the tables of %s are incomplete (%s)'
                              % (source, exc))
    if service_version != len(entries) - 1:
        raise exception.InvalidHistory(
            name=NAME,
            reason='SERVICE_VERSION %r of %s is not the last entry of '
                   'SERVICE_VERSION_HISTORY (%d)'
                   % (service_version, source, len(entries) - 1))
    return nv_history.VersionHistory(NAME, entries, releases, oldest,
                                     rpc_aliases=aliases, rules=RULES,
                                     source=source)


def snapshot_history():
    """The history of the bundled snapshot of Nova's tables."""
    tables, version = load_snapshot()
    return build(tables, 'snapshot of Nova %s' % version)


def nova_history():
    """Entry point: Nova's history, live when Nova is installed.

    An installed Nova whose tables cannot be read falls back to the
    snapshot, with a warning naming both versions.
    """
    found = installed_nova()
    if found is None:
        return snapshot_history()
    package_dir, version = found
    try:
        tables = read_tables(package_dir)
    except NovaTablesUnreadable as exc:
        history = snapshot_history()
        LOG.warning('Could not read the version history of the installed '
                    'Nova %(version)s (%(reason)s); using the %(snapshot)s '
                    'bundled with nova_versioning instead.',
                    {'version': version, 'reason': exc,
                     'snapshot': history.source})
        return history
    return build(tables, 'live Nova %s' % version)
