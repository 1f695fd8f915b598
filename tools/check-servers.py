#!/usr/bin/env python3
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
"""Fail fast when the functional tests' servers cannot be reached.

oslo.db's opportunistic fixtures *skip* when a database is unreachable, so a
broken CI machine would look green.  The functional tox env runs this first:
with NOVA_VERSIONING_REQUIRE_SERVERS=1 (the env's default) it checks, the way
the tests will connect, that

- MariaDB and PostgreSQL accept the oslo.db admin URLs
  (OS_TEST_DBAPI_ADMIN_CONNECTION, ';'-separated, or the default
  openstack_citest URLs) and let that user create and drop a database;
- RabbitMQ accepts NOVA_VERSIONING_TRANSPORT_URL
  (default rabbit://guest:guest@127.0.0.1:5672/).

It prints one line per server and exits 1 if any check failed.
"""

import os
import re
import sys

import kombu
import sqlalchemy as sa

DEFAULT_DB_URLS = (
    'mysql+pymysql://openstack_citest:openstack_citest@localhost/'
    'openstack_citest',
    'postgresql+psycopg2://openstack_citest:openstack_citest@localhost/'
    'openstack_citest',
)
DEFAULT_TRANSPORT_URL = 'rabbit://guest:guest@127.0.0.1:5672/'
REQUIRED_BACKENDS = ('mysql', 'postgresql')
CHECK_DB = 'nova_versioning_check_%d' % os.getpid()
HINT = 'run tools/test-setup.sh (as root) to create users and start servers'


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def check_database(url):
    engine = sa.create_engine(url, isolation_level='AUTOCOMMIT')
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text('CREATE DATABASE %s' % CHECK_DB))
            conn.execute(sa.text('DROP DATABASE %s' % CHECK_DB))
    except Exception as exc:
        return False, '%s: %s' % (shown, _first_line(exc))
    finally:
        engine.dispose()
    return True, shown


def _mask(url):
    return re.sub(r'(://[^:/@]*:)[^@]*@', r'\1***@', url)


def check_transport(url):
    # oslo.messaging's rabbit:// is kombu's amqp://; the path is the vhost.
    broker = 'amqp://' + url.split('://', 1)[1] if '://' in url else url
    conn = kombu.Connection(broker, connect_timeout=5)
    try:
        conn.ensure_connection(max_retries=1, timeout=5)
    except Exception as exc:
        return False, '%s: %s' % (_mask(url), _first_line(exc))
    finally:
        conn.release()
    return True, _mask(url)


def main():
    # Read as nova_versioning/tests/base.py reads it.
    if os.environ.get('NOVA_VERSIONING_REQUIRE_SERVERS', '') in (
            '', '0', 'false', 'False'):
        print('check-servers: NOVA_VERSIONING_REQUIRE_SERVERS is off; '
              'not checking (functional tests may skip)')
        return 0
    configured = os.environ.get('OS_TEST_DBAPI_ADMIN_CONNECTION', '')
    db_urls = [u.strip() for u in configured.split(';') if u.strip()]
    db_urls = db_urls or list(DEFAULT_DB_URLS)
    transport_url = (os.environ.get('NOVA_VERSIONING_TRANSPORT_URL') or
                     DEFAULT_TRANSPORT_URL)

    failed = False
    backends = set()
    for url in db_urls:
        backends.add(sa.engine.make_url(url).get_backend_name())
        ok, msg = check_database(url)
        failed |= not ok
        print('check-servers: %s %s' % ('ok    ' if ok else 'FAILED', msg))
    for missing in sorted(set(REQUIRED_BACKENDS) - backends):
        failed = True
        print('check-servers: FAILED no %s URL in '
              'OS_TEST_DBAPI_ADMIN_CONNECTION' % missing)
    ok, msg = check_transport(transport_url)
    failed |= not ok
    print('check-servers: %s %s' % ('ok    ' if ok else 'FAILED', msg))
    if failed:
        print('check-servers: functional tests need every server above; '
              + HINT, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
