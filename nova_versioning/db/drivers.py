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
"""Database drivers: the extras that install them, and URL defaults.

The package installs no database driver by itself: ``pip install
'nova_versioning[mysql]'`` brings PyMySQL, ``'nova_versioning[postgresql]'``
psycopg2. A URL without a driver (``mysql://``, ``postgresql://``) means
SQLAlchemy's default driver for the backend (MySQLdb, and psycopg 3 since
SQLAlchemy 2.1); when that one is not installed and the driver of the
extra is, :func:`use_installed_drivers` makes the backend's name mean the
installed driver. When no usable driver is installed, :func:`check_driver`
says which extra to install.
"""

import importlib.util

import sqlalchemy.dialects as sa_dialects
import sqlalchemy.engine.url as sa_url

# backend: (extra, driver of the extra, its DBAPI module, dialect module,
# dialect class).
EXTRAS = {
    'mysql': ('mysql', 'pymysql', 'pymysql',
              'sqlalchemy.dialects.mysql.pymysql', 'MySQLDialect_pymysql'),
    'postgresql': ('postgresql', 'psycopg2', 'psycopg2',
                   'sqlalchemy.dialects.postgresql.psycopg2',
                   'PGDialect_psycopg2'),
}

# The DBAPI module SQLAlchemy's dialect of each driver imports.
DBAPI_MODULES = {
    'mysqldb': 'MySQLdb',
    'pymysql': 'pymysql',
    'mysqlconnector': 'mysql.connector',
    'psycopg': 'psycopg',
    'psycopg2': 'psycopg2',
    'pg8000': 'pg8000',
    'asyncpg': 'asyncpg',
    'pysqlite': 'sqlite3',
}


class DriverMissing(ImportError):
    """The driver of a database URL is not installed."""


def _installed(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _driver(url):
    """The driver a URL uses: its own, or the backend's current default."""
    if '+' in url.drivername:
        return url.get_driver_name()
    return url.get_dialect().driver


def use_installed_drivers(backends=None):
    """Let ``mysql://`` and ``postgresql://`` use the extras' drivers.

    Only when SQLAlchemy's default driver for the backend is not installed
    and the extra's is; an explicit ``backend+driver://`` is never
    changed. Idempotent.

    :param backends: only these backends (names such as ``'sqlite'``);
        every one by default. Finding a backend's default driver imports
        SQLAlchemy's dialects of that backend, a tenth of a second for
        PostgreSQL's: a command on SQLite need not pay it.
    """
    for backend, (_extra, driver, module, dialect_module, dialect_cls) in \
            EXTRAS.items():
        if backends is not None and backend not in backends:
            continue
        default = _driver(sa_url.make_url('%s://' % backend))
        if default == driver:
            continue
        if _installed(DBAPI_MODULES.get(default, default)):
            continue
        if _installed(module):
            sa_dialects.registry.register(backend, dialect_module,
                                          dialect_cls)


def check_driver(connection):
    """Raise DriverMissing, naming the extra, when the URL's driver is absent.

    :param connection: a database URL (string).
    """
    url = sa_url.make_url(connection)
    backend = url.get_backend_name()
    driver = _driver(url)
    module = DBAPI_MODULES.get(driver)
    if module is None or _installed(module):
        return
    extra = EXTRAS.get(backend)
    if extra is None:
        raise DriverMissing('the %s driver (Python module %s) is not '
                            'installed' % (driver, module))
    extra_name, extra_driver = extra[0], extra[1]
    if driver == extra_driver:
        raise DriverMissing(
            'the %s driver is not installed: pip install '
            "'nova_versioning[%s]'" % (driver, extra_name))
    raise DriverMissing(
        'the %s driver (Python module %s) is not installed: install it, or '
        "pip install 'nova_versioning[%s]' and use %s+%s:// (or %s://)"
        % (driver, module, extra_name, backend, extra_driver, backend))
