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
"""Test fixtures for services that embed nova_versioning.

* :class:`Database`: the services schema on SQLite (a file in a temporary
  directory) or on a database URL you give, wired into the library's
  database API for the duration of the fixture.
* :class:`OlderRelease`: make this process record, and behave as, an older
  release from the version history.
* :class:`AllServicesCurrent`: make every minimum-version lookup answer
  this code's service version, as if the whole deployment were upgraded.

Every fixture leaves the process as it found it, caches included.
"""

import os

import fixtures
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures

from nova_versioning import conf as nv_conf
from nova_versioning.db import api as db_api
from nova_versioning.db import migration
from nova_versioning import history
from nova_versioning.objects import service as service_obj


class Database(fixtures.Fixture):
    """Apply the schema and point the database API at it.

    :param connection: an SQLAlchemy URL. When None, a SQLite file in a
        temporary directory is used and removed afterwards. A given
        database keeps its tables afterwards; only the engine is disposed.
    """

    def __init__(self, connection=None):
        super().__init__()
        self.connection = connection

    def _setUp(self):
        connection = self.connection
        if connection is None:
            tempdir = self.useFixture(fixtures.TempDir()).path
            connection = 'sqlite:///%s' % os.path.join(
                tempdir, 'nova_versioning.sqlite')
        self.url = connection
        facade = enginefacade.transaction_context()
        facade.configure(connection=connection, max_retries=0)
        self.engine = facade.writer.get_engine()
        self.addCleanup(self.engine.dispose)
        migration.db_sync(engine=self.engine)
        self.useFixture(test_fixtures.ReplaceEngineFacadeFixture(
            db_api.main_context_manager, facade))
        service_obj.Service.clear_min_version_cache()
        self.addCleanup(service_obj.Service.clear_min_version_cache)


class OlderRelease(fixtures.Fixture):
    """Make this process behave as an older release.

    :param release: a release name of the version history (for example
        "pike") or a service version number.
    """

    def __init__(self, release, conf=None):
        super().__init__()
        self.release = release
        self.conf = conf or nv_conf.CONF

    def _setUp(self):
        # Fail here, with the option named, rather than at first use.
        history.get_history(self.conf).parse_release(
            self.release, '[versioning]/emulated_release')
        self.conf.set_override('emulated_release', str(self.release),
                               group='versioning')
        self.addCleanup(self.conf.clear_override, 'emulated_release',
                        group='versioning')
        self.service_version = history.this_service_version(self.conf)


class AllServicesCurrent(fixtures.Fixture):
    """Every minimum-version lookup answers this code's service version."""

    def _setUp(self):
        def current(context, binaries, fresh=False):
            version = history.this_service_version()
            return {binary: version for binary in binaries}

        self.useFixture(fixtures.MonkeyPatch(
            'nova_versioning.objects.service._minimum_versions', current))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_versioning.objects.service._minimum_version',
            lambda context, binary, fresh=False: current(
                context, [binary])[binary]))
        service_obj.Service.clear_min_version_cache()
        self.addCleanup(service_obj.Service.clear_min_version_cache)
