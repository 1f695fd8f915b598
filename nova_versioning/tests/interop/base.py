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
"""A real Nova deployment, made with Nova's own tools, for the tests.

:class:`NovaDeployment` builds, on MariaDB (``'mysql'``) or PostgreSQL
(``'postgresql'``), the databases of a Nova deployment with cells: an API
database, cell0 and ``cells`` cells (two by default), each a fresh
database created through oslo.db's provisioning as ``openstack_citest``
(or ``OS_TEST_DBAPI_ADMIN_CONNECTION``), then::

    nova-manage api_db sync
    nova-manage cell_v2 map_cell0 --database_connection <cell0>
    nova-manage db sync                      # cell1, and cell0
    nova-manage cell_v2 create_cell --name cellN ...   # for each cell
    nova-manage db sync --local_cell         # each further cell

Building one takes a while (Nova's migrations), so build it once per test
process and backend (:func:`shared_deployment`, which
:class:`NovaTestCase` uses) and give each test class the records it needs
(:meth:`NovaDeployment.clear_services`, then
:meth:`NovaDeployment.create_services`).

Nova is never imported here (see the package doc): Nova's tools and
``nova_side`` run as child processes.

Usage::

    deployment = NovaDeployment('mysql', cells=2)
    deployment.setUp()                  # a fixtures.Fixture
    deployment.create_service('cell2', 'cpu1', 'nova-compute', version=67)
    deployment.create_services([{'cell': 'cell1', 'host': 'cpu2',
                                 'binary': 'nova-compute'}, ...])
    deployment.nova('minimum', '--binary', 'nova-compute')
    # -> {'minimum': 67, 'cap': '6.2', 'hosts': [['cell2', 'cpu1']]}
    deployment.conf_file   # nova.conf: [api_database], [database] = cell1
    deployment.api_url, deployment.cell_urls['cell1'], deployment.cell0_url
    deployment.cleanUp()                # drops the databases
"""

import atexit
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import fixtures
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import provision
from oslo_utils import uuidutils
import sqlalchemy as sa
import testtools

from nova_versioning.tests import base

# Nova's tools, from the same environment as the test process.
BIN_DIR = os.path.dirname(sys.executable)

# Nothing of Nova's runs here, so no message is ever sent.
TRANSPORT_URL = 'fake://'

# Generous: Nova's tools import the whole of Nova on every run.
COMMAND_TIMEOUT = 600


class CommandFailed(Exception):
    pass


def run(argv, timeout=COMMAND_TIMEOUT, check=True, cwd=None):
    """Run a command; (exit code, stdout, stderr)."""
    proc = subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode:
        raise CommandFailed('%s exited %d:\n%s\n%s' % (
            ' '.join(argv), proc.returncode, proc.stdout, proc.stderr))
    return proc.returncode, proc.stdout, proc.stderr


def table_checksums(url):
    """{table: sha256 of its rows, in a fixed order} of a database."""
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        result = {}
        with engine.connect() as connection:
            for name, table in sorted(metadata.tables.items()):
                digest = hashlib.sha256()
                rows = sorted(repr(tuple(row)) for row in
                              connection.execute(sa.select(table)))
                for row in rows:
                    digest.update(row.encode())
                indexes = sorted(
                    repr(sorted(i.items())) for i in
                    sa.inspect(connection).get_indexes(name))
                for index in indexes:
                    digest.update(index.encode())
                result[name] = digest.hexdigest()
        return result
    finally:
        engine.dispose()


class NovaDeployment(fixtures.Fixture):
    """An API database, cell0 and ``cells`` cells, made by nova-manage.

    :param db_kind: 'mysql' or 'postgresql'.
    :param cells: the number of cells besides cell0 (named cell1, ...).

    Attributes once set up: ``conf_file`` (Nova's configuration:
    ``[api_database]``, and ``[database]`` on cell1), ``api_url``,
    ``cell0_url``, ``cell_urls`` ({'cell1': url, ...}), ``tmp`` (a
    directory for further files).
    """

    def __init__(self, db_kind, cells=2):
        super().__init__()
        self.db_kind = db_kind
        self.cells = cells

    # -- building ---------------------------------------------------------

    def _database(self, backend, suffix):
        ident = 'nvnova_%s_%s' % (self._prefix, suffix)
        backend.create_named_database(ident)
        self.addCleanup(backend.drop_named_database, ident,
                        conditional=True)
        return backend.provisioned_database_url(ident).render_as_string(
            hide_password=False)

    def _write_conf(self, name, database):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write('[DEFAULT]\ntransport_url = %s\n'
                    '[api_database]\nconnection = %s\n'
                    '[database]\nconnection = %s\n'
                    # A cell mapped to a closed port fails at once, not
                    # after oslo.db's ten retries of ten seconds each.
                    'max_retries = 0\n'
                    '[oslo_messaging_notifications]\ndriver = noop\n'
                    % (TRANSPORT_URL, self.api_url, database))
        return path

    def _setUp(self):
        backend = provision.Backend.backend_for_database_type(self.db_kind)
        self._prefix = uuidutils.generate_uuid(dashed=False)[:10]
        self.tmp = tempfile.mkdtemp(prefix='nvnova-')
        self.addCleanup(_rmtree, self.tmp)
        self.api_url = self._database(backend, 'api')
        self.cell0_url = self._database(backend, 'cell0')
        self.cell_urls = {'cell%d' % i: self._database(backend, 'cell%d' % i)
                          for i in range(1, self.cells + 1)}
        self.conf_file = self._write_conf('nova.conf',
                                          self.cell_urls['cell1'])
        self.nova_manage('api_db', 'sync')
        self.nova_manage('cell_v2', 'map_cell0', '--database_connection',
                         self.cell0_url)
        # The cells' schemas are independent: made concurrently. "db
        # sync" makes cell1's ([database]) and cell0's. The cells' mappings
        # (rows of the API database only) are made meanwhile.
        commands = [self._start_manage(self.conf_file, 'db', 'sync')]
        for name, url in sorted(self.cell_urls.items()):
            if name != 'cell1':
                commands.append(self._start_manage(
                    self._write_conf('nova-%s.conf' % name, url),
                    'db', 'sync', '--local_cell'))
        for name, url in sorted(self.cell_urls.items()):
            # Nova wants each cell's transport URL to be unique too.
            commands.append(self._start_manage(
                self.conf_file, 'cell_v2', 'create_cell', '--name', name,
                '--database_connection', url, '--transport-url',
                '%s/%s' % (TRANSPORT_URL, name)))
        for argv, proc in commands:
            out, err = proc.communicate(timeout=COMMAND_TIMEOUT)
            if proc.returncode:
                raise CommandFailed('%s exited %d:\n%s\n%s' % (
                    ' '.join(argv), proc.returncode, out, err))

    def _start_manage(self, conf_file, *args):
        argv = [os.path.join(BIN_DIR, 'nova-manage'), '--config-file',
                conf_file] + list(args)
        return argv, subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=self.tmp, stdin=subprocess.DEVNULL)

    # -- Nova's tools -----------------------------------------------------

    def nova_manage(self, *args, conf_file=None, check=True):
        """nova-manage --config-file <conf_file> ARGS; (code, out, err)."""
        return run([os.path.join(BIN_DIR, 'nova-manage'), '--config-file',
                    conf_file or self.conf_file] + list(args), check=check,
                   cwd=self.tmp)

    def nova_status(self, *args):
        """nova-status --config-file <conf> ARGS; (code, out, err)."""
        return run([os.path.join(BIN_DIR, 'nova-status'), '--config-file',
                    self.conf_file] + list(args), check=False, cwd=self.tmp)

    def nova(self, command, *args):
        """A command of ``nova_side`` (see there), its JSON parsed."""
        _code, out, _err = run(
            [sys.executable, '-m', 'nova_versioning.tests.interop.nova_side',
             command, '--config-file', self.conf_file] + list(args),
            cwd=self.tmp)
        return json.loads(out)

    def create_service(self, cell, host, binary, version=None,
                       forced_down=False, deleted=False):
        """A services record made by Nova's objects.Service in ``cell``.

        ``version``: written into the row after Nova's create (which
        always records Nova's SERVICE_VERSION); see ``nova_side``.
        """
        return self.create_services([dict(
            cell=cell, host=host, binary=binary, version=version,
            forced_down=forced_down, deleted=deleted)])[0]

    def create_services(self, specs):
        """Several records at once, in one Nova process.

        :param specs: dicts of the arguments of :meth:`create_service`.
        """
        return self.nova('create-services', '--json', json.dumps(specs))

    # -- inspecting -------------------------------------------------------

    @property
    def all_urls(self):
        """{database name: url}: api, cell0 and every cell."""
        urls = dict(self.cell_urls, api=self.api_url, cell0=self.cell0_url)
        return urls

    def checksums(self):
        """{database: {table: checksum}} of every database."""
        return {name: table_checksums(url)
                for name, url in sorted(self.all_urls.items())}

    def clear_services(self):
        """Remove every services row of every cell (plain SQL)."""
        for url in self.cell_urls.values():
            engine = sa.create_engine(url)
            try:
                with engine.begin() as connection:
                    connection.execute(sa.text('DELETE FROM services'))
            finally:
                engine.dispose()


def _rmtree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


# {(db_kind, cells): NovaDeployment} built in this process.
_SHARED = {}


def shared_deployment(db_kind, cells):
    """The NovaDeployment of ``db_kind`` of this test process.

    Built on first use, then shared by every test class that asks for the
    same one (Nova's migrations take a while): each class makes the
    records it needs (see :meth:`NovaDeployment.clear_services`) and
    undoes whatever else it changes. Dropped by
    :func:`cleanup_shared_deployments`, at the latest when the process
    exits.
    """
    key = (db_kind, cells)
    if key not in _SHARED:
        deployment = NovaDeployment(db_kind, cells=cells)
        deployment.setUp()
        if not _SHARED:
            atexit.register(cleanup_shared_deployments)
        _SHARED[key] = deployment
    return _SHARED[key]


def cleanup_shared_deployments():
    while _SHARED:
        _SHARED.popitem()[1].cleanUp()


class NovaTestCase(testtools.TestCase):
    """Tests on the NovaDeployment of DB_KIND of this process.

    The deployment is shared with the other classes of the same DB_KIND
    (:func:`shared_deployment`); the nova-interop env runs the classes of
    one backend on one worker. An unreachable database server fails the
    class (or skips it when NOVA_VERSIONING_REQUIRE_SERVERS is unset).
    """

    DB_KIND = None
    CELLS = 2

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.deployment = shared_deployment(cls.DB_KIND, cls.CELLS)
        except db_exc.BackendNotAvailable as exc:
            cls.deployment = None
            cls._unavailable = str(exc)
        except BaseException:
            cls.deployment = None
            raise
        else:
            cls._unavailable = None

    def setUp(self):
        super().setUp()
        if self.deployment is None:
            message = '%s is not available: %s' % (self.DB_KIND,
                                                   self._unavailable)
            if base.servers_required():
                self.fail(message)
            self.skipTest(message)
        self.useFixture(fixtures.Timeout(900, gentle=True))
