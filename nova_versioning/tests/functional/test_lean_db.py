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
"""The lean read path on MariaDB and PostgreSQL.

The tests of ``nova_versioning.tests.unit.db.test_lean``, and a held
connection the server drops while it is idle.
"""

import socket

from oslo_db import exception as db_exc
import sqlalchemy as sa

from nova_versioning.db import api as db_api
from nova_versioning.db import lean
from nova_versioning.tests import base
from nova_versioning.tests.unit.db import test_lean

C = test_lean.C


def closed_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class ServerTestsMixin(test_lean.LeanReadTestsMixin):

    def unusable_url(self):
        # Nothing listens there: the database is down.
        return sa.engine.make_url(self.db.url).set(
            host='127.0.0.1', port=closed_port()).render_as_string(
            hide_password=False)

    def held(self):
        engine = db_api.main_context_manager.reader.get_engine()
        return lean.HELD.get(engine)

    def test_dropped_while_idle_then_read_again(self):
        expected = db_api.service_get_minimum_version(self.context, [C])
        (connection,) = self.held()._idle
        with self.db.engine.connect() as admin:
            admin.execute(sa.text(self.KILL), {'id': self.backend_id(
                connection)})
            admin.commit()
        self.assertEqual(expected, db_api.service_get_minimum_version(
            self.context, [C]))
        self.assertEqual(1, len(self.held()._idle))
        self.assertIsNot(connection, self.held()._idle[0])


class LeanReadMySQLTestCase(base.MySQLMixin, ServerTestsMixin,
                            base.DBTestCase):
    KILL = 'KILL :id'
    DOWN_ERROR = db_exc.DBConnectionError

    def backend_id(self, connection):
        return connection.exec_driver_sql(
            'SELECT CONNECTION_ID()').scalar()


class LeanReadPostgreSQLTestCase(base.PostgreSQLMixin, ServerTestsMixin,
                                 base.DBTestCase):
    KILL = 'SELECT pg_terminate_backend(:id)'
    # oslo.db does not translate psycopg2's "Connection refused".
    DOWN_ERROR = sa.exc.OperationalError

    def backend_id(self, connection):
        return connection.exec_driver_sql('SELECT pg_backend_pid()').scalar()
