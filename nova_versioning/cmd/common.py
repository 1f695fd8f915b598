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
"""Shared plumbing of the console scripts: config, logging, errors.

An operator's mistake (a missing config file, a malformed or unreachable
database, a value out of range) ends the command with one line on stderr
naming what was wrong, and a non-zero exit code; never a traceback.
"""

import sys

from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_log import log as logging
from oslo_utils import strutils
import sqlalchemy.engine.url as sa_url
import sqlalchemy.exc as sa_exc

from nova_versioning import conf as nv_conf
from nova_versioning import exception

CONF = nv_conf.CONF
LOG = logging.getLogger(__name__)


def masked_connection(conf=CONF):
    url = conf.database.connection or ''
    try:
        return sa_url.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return strutils.mask_password(url)


def describe_error(exc, conf=CONF):
    """One line for an operator, or None when ``exc`` is a bug."""
    if isinstance(exc, exception.NovaVersioningException):
        # Raised remotely, the message is followed by the remote traceback.
        return _first_line(exc)
    if isinstance(exc, (db_exc.DBConnectionError, sa_exc.OperationalError,
                        sa_exc.InterfaceError)):
        reason = 'the database is unreachable (%s)' % _first_line(exc)
    elif isinstance(exc, (sa_exc.ArgumentError, sa_exc.NoSuchModuleError)):
        reason = ('it is not a valid SQLAlchemy URL such as '
                  'mysql+pymysql://user:password@host/db (%s)'
                  % _first_line(exc))
    elif isinstance(exc, ImportError) and conf.database.connection:
        reason = 'its database driver is not installed (%s)' % exc
    elif isinstance(exc, db_exc.DBError):
        reason = _first_line(exc)
    elif isinstance(exc, cfg.Error):
        return _first_line(exc)
    else:
        return None
    return str(exception.DatabaseConfigError(
        connection=masked_connection(conf), reason=reason))


def _first_line(exc):
    text = str(exc).strip()
    line = text.splitlines()[0] if text else exc.__class__.__name__
    return line.split(' (Background on this error')[0]


def parse_args(argv, prog, project='nova_versioning',
               default_config_files=None):
    logging.register_options(CONF)
    # Command output goes to stdout; logs go to stderr unless configured.
    CONF.set_default('use_stderr', True)
    try:
        CONF(argv[1:], project=project, prog=prog,
             default_config_files=default_config_files)
    except cfg.Error as exc:
        fail(prog, _first_line(exc), code=2)
    logging.setup(CONF, project)


def fail(prog, message, code=1):
    sys.stderr.write('%s: error: %s\n' % (prog, message))
    sys.exit(code)


def run(prog, func, *args, **kwargs):
    """Call func; turn operator mistakes into one line and exit 1."""
    try:
        return func(*args, **kwargs)
    except Exception as exc:
        message = describe_error(exc)
        if message is None:
            raise
        fail(prog, message)


def format_table(headers, rows, indent=''):
    """Rows as left-aligned columns under their headers, as text lines.

    None shows as "-".
    """
    rows = [['-' if cell is None else str(cell) for cell in row]
            for row in rows]
    widths = [max([len(header)] + [len(row[i]) for row in rows])
              for i, header in enumerate(headers)]

    def line(cells):
        return (indent + '  '.join(cell.ljust(width) for cell, width
                                   in zip(cells, widths))).rstrip()

    return [line(headers), line(['-' * width for width in widths])] + [
        line(row) for row in rows]
