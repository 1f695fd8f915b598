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
"""Base test cases.

``DBTestCase`` runs on SQLite by default; subclasses set ``BACKEND`` to
'mysql' or 'postgresql' to run the same tests on a real server, in a
database provisioned for the test through oslo.db (as the
``openstack_citest`` user, or ``OS_TEST_DBAPI_ADMIN_CONNECTION``). When
NOVA_VERSIONING_REQUIRE_SERVERS is set (the functional tox env sets it) an
unreachable server fails the test instead of skipping it.
"""

import os

import fixtures
from oslo_config import fixture as config_fixture
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import provision
from oslo_utils import uuidutils
from oslotest import base

from nova_versioning import conf as nv_conf
from nova_versioning.conf import lastgood
from nova_versioning import context
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import history
from nova_versioning import objects
from nova_versioning.objects import base as obj_base
from nova_versioning.objects import service as service_obj

objects.register_all()


def servers_required():
    return os.environ.get('NOVA_VERSIONING_REQUIRE_SERVERS', '') not in (
        '', '0', 'false', 'False')


def database_backend(test, kind):
    """The oslo.db provisioning backend of kind, for test.

    An unreachable server skips test, or fails it when servers are
    required.
    """
    try:
        return provision.Backend.backend_for_database_type(kind)
    except db_exc.BackendNotAvailable as exc:
        message = ('%s is not available for functional tests: %s'
                   % (kind, exc))
        if servers_required():
            test.fail(message)
        test.skipTest(message)


class TestCase(base.BaseTestCase):
    """Global config reset, caches cleared, state in a temp directory."""

    def setUp(self):
        super().setUp()
        self.conf_fixture = self.useFixture(config_fixture.Config(
            nv_conf.CONF))
        self.conf = self.conf_fixture.conf
        # Last good option values and their overrides are per process.
        lastgood.options(self.conf).forget()
        self.addCleanup(lastgood.options(self.conf).forget)
        self.flags(state_path=self.useFixture(fixtures.TempDir()).path)
        history.REGISTRY.clear()
        self.addCleanup(history.REGISTRY.clear)
        service_obj.Service.clear_min_version_cache()
        self.addCleanup(service_obj.Service.clear_min_version_cache)
        # The indirection API is per process: no test leaves one behind.
        self.addCleanup(obj_base.INDIRECTION.reset)
        self.context = context.get_admin_context()

    def flags(self, group=None, **kw):
        self.conf_fixture.config(group=group, **kw)


class DBTestCase(TestCase):
    """A test with the services schema on BACKEND."""

    BACKEND = 'sqlite'

    def setUp(self):
        super().setUp()
        self.db = self.useFixture(nv_fixtures.Database(
            connection=self._provision()))

    def _provision(self):
        if self.BACKEND == 'sqlite':
            return None
        return self.provision_database()

    def provision_database(self):
        """The URL of a new, empty database on the BACKEND server.

        Dropped at the end of the test.
        """
        backend = database_backend(self, self.BACKEND)
        ident = 'nv_' + uuidutils.generate_uuid(dashed=False)[:16]
        backend.create_named_database(ident)
        self.addCleanup(backend.drop_named_database, ident,
                        conditional=True)
        return str(backend.provisioned_database_url(ident).render_as_string(
            hide_password=False))


class MySQLMixin(object):
    BACKEND = 'mysql'


class PostgreSQLMixin(object):
    BACKEND = 'postgresql'
