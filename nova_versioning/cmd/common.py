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

An operator's mistake (a wrong argument, a missing config file, a value
of the wrong type, a malformed or unreachable database, a schema never
synced) ends the command with one line on stderr naming what was wrong,
and a non-zero exit code; never a traceback nor a usage block.

The one-shot administration commands (``one_shot=True``: manage and
status) try the database once: oslo.db's ``[database]/max_retries``
defaults to 0 for them instead of 10 attempts 10 s apart, which suit a
long-running service waiting for its database but leave an operator
staring at retry warnings for 100 s. A ``max_retries`` set in the
configuration file is still honoured. Every database operation of theirs
has the deadline of a service (:func:`bound_database_operations`), except
those of ``db sync``: a migration may rightly run long.
"""

from importlib import metadata
import os
import re

from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_db import options as db_options
from oslo_log import _options as log_options
from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_utils import strutils
import sqlalchemy.engine.url as sa_url
import sqlalchemy.exc as sa_exc
from stevedore import named as stevedore_named

from nova_versioning.cmd import cli
from nova_versioning.cmd import parsers
from nova_versioning import conf as nv_conf
from nova_versioning.conf import opts as nv_opts
from nova_versioning.conf import values
from nova_versioning.db import drivers
from nova_versioning.db import migration
from nova_versioning.db import timeouts
from nova_versioning import exception

CONF = nv_conf.CONF
LOG = logging.getLogger(__name__)

# Log levels of the one-shot commands, on top of oslo.log's defaults:
# alembic reports its migration context at INFO on every schema read.
ONE_SHOT_LOG_LEVELS = ['alembic=WARN']


def masked_connection(conf=CONF):
    url = conf.database.connection or ''
    try:
        text = sa_url.make_url(url).render_as_string(hide_password=True)
    except Exception:
        text = strutils.mask_password(url)
    if len(text) > 120:
        text = '%s... (%d characters)' % (text[:100], len(text))
    return text


def describe_error(exc, conf=CONF):
    """One line for an operator, or None when ``exc`` is a bug."""
    if isinstance(exc, exception.NovaVersioningException):
        # Raised remotely, the message is followed by the remote traceback.
        return _first_line(exc)
    if isinstance(exc, cfg.ConfigSourceValueError):
        return invalid_value(conf) or _first_line(exc)
    if isinstance(exc, (messaging.InvalidTransportURL,
                        messaging.DriverLoadFailure)):
        return invalid_transport_url(conf, exc)
    if isinstance(exc, cli.DatabaseNeeded):
        reason = str(exc)
    elif isinstance(exc, db_exc.DBNonExistentDatabase):
        if exc.database:
            reason = ('the database %r does not exist; create it, then run '
                      '%s db sync' % (exc.database, cli.manage_command(conf)))
        else:
            reason = ('the database file cannot be opened (%s)'
                      % _first_line(exc))
    elif isinstance(exc, db_exc.DBConnectionError):
        reason = ('the database server is unreachable (%s)'
                  % _timed_out(exc))
    elif isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        reason = ('the database refused the connection or the query (%s)'
                  % _timed_out(exc))
    elif isinstance(exc, (sa_exc.ArgumentError, sa_exc.NoSuchModuleError)):
        reason = ('it is not a valid SQLAlchemy URL such as '
                  'mysql+pymysql://user:password@host/db (%s)'
                  % _first_line(exc))
    elif isinstance(exc, drivers.DriverMissing):
        reason = str(exc)
    elif isinstance(exc, ImportError) and conf.database.connection:
        reason = 'its database driver is not installed (%s)' % exc
    elif isinstance(exc, TypeError) and 'keyword argument' in str(exc):
        # oslo.db passes [database]/connection_parameters to the driver.
        reason = ('its driver refuses [database]/connection_parameters '
                  '%s (%s)' % (exception.shown(
                      conf.database.connection_parameters), exc))
    elif isinstance(exc, (db_exc.DBError, sa_exc.DBAPIError)):
        reason = _first_line(exc)
    elif isinstance(exc, cfg.Error):
        return _first_line(exc)
    else:
        return None
    return str(exception.DatabaseConfigError(
        connection=masked_connection(conf), reason=reason))


TIMEOUT_OPTION = '[versioning]/database_operation_timeout'

# What the drivers say when a deadline of db/timeouts.py passed: PyMySQL
# "(timed out)", libpq "timeout expired".
_TIMED_OUT = ('timed out', 'timeout expired')


def _timed_out(exc):
    """The first line of ``exc``, naming the deadline when it passed."""
    line = _first_line(exc)
    installed = timeouts.installed()
    if (installed is not None and TIMEOUT_OPTION not in line
            and any(words in line for words in _TIMED_OUT)):
        line = '%s; no answer within %d s, %s' % (
            line, installed.timeout, TIMEOUT_OPTION)
    return line


def _masked_url(url):
    return re.sub(r'(://[^:/@]*:)[^@]*@', r'\1***@', url or '')


def invalid_transport_url(conf, exc):
    """One line naming [DEFAULT]/transport_url, password masked."""
    value, where = values.raw_value(conf, 'DEFAULT', 'transport_url')
    if value is None:
        try:
            value = conf.transport_url
        except cfg.NoSuchOptError:
            value = None
    return str(exception.InvalidOption(
        group='DEFAULT', name='transport_url', value=_masked_url(value),
        where=' in %s' % where if where else '',
        allowed='a transport URL such as '
                'rabbit://user:password@host:5672/ (%s)'
                % (exc if isinstance(exc, str) else _first_line(exc))))


_first_line = parsers.first_line


# -- option values --------------------------------------------------------


# The namespaces of etc/oslo-config-generator/nova_versioning.conf: every
# option of the sample configuration file.
SAMPLE_NAMESPACES = ('nova_versioning', 'oslo.db', 'oslo.log',
                     'oslo.messaging', 'oslo.service.service')


# The namespaces whose options a command has imported already; the others
# (oslo.messaging's imports every driver, kombu among them) are loaded only
# when the configuration names an option these do not have.
LIGHT_NAMESPACES = ('nova_versioning', 'oslo.db', 'oslo.log')


def _listed_opts(light=False):
    """[(group, opts)] of the sample configuration's namespaces.

    :param light: those of LIGHT_NAMESPACES only.
    """
    if light:
        if not _LIGHT:
            _LIGHT.extend(nv_opts.list_opts() + db_options.list_opts() +
                          log_options.list_opts())
        return _LIGHT
    if not _LISTED:
        _LISTED.extend(_load_listed_opts())
    return _LISTED


# The options of the sample configuration, loaded once.
_LISTED = []
_LIGHT = []


def _load_listed_opts():
    groups = []
    try:
        manager = stevedore_named.NamedExtensionManager(
            'oslo.config.opts', names=SAMPLE_NAMESPACES,
            invoke_on_load=True, name_order=True)
        for extension in manager:
            groups.extend(extension.obj)
    except Exception:
        groups = []
    if not groups:
        # Not installed with its entry points (a source tree).
        groups = list(_listed_opts(light=True))
    return groups


def checked_opts(light=False):
    """(group, opt) of every option a console script reads.

    The options of the sample configuration file: this library's, and
    those of oslo.db, oslo.log, oslo.messaging and oslo.service.

    :param light: only those of LIGHT_NAMESPACES.
    """
    seen = set()
    for group, opts in _listed_opts(light=light):
        if isinstance(group, cfg.OptGroup):
            group = group.name
        group = group or 'DEFAULT'
        for opt in opts:
            if (group, opt.dest) not in seen:
                seen.add((group, opt.dest))
                yield group, opt


def _written(conf):
    """{(group, name)} given a value in the files; None when unknown.

    None as well when an ``OS_<GROUP>__<NAME>`` environment variable may
    set an option.
    """
    if any(name.startswith('OS_') and '__' in name for name in os.environ):
        return None
    written = set()
    for path in values.config_files(conf):
        sections = values.parsed(path)
        if sections is None:
            return None
        for group, keys in sections.items():
            written.update((group, key) for key in keys)
    return written


def _needs_every_namespace(conf):
    """Whether the files set an option none of LIGHT_NAMESPACES has.

    An option nobody set has its default, which its library accepts:
    only a value written for an option of the other namespaces can be
    wrong.
    """
    written = _written(conf)
    if written is None:
        return True
    known = set()
    for group, opt in checked_opts(light=True):
        for name in {opt.name, opt.dest, opt.name.replace('-', '_')}:
            known.add((group, name))
        for deprecated in opt.deprecated_opts:
            known.add((deprecated.group or group,
                       deprecated.name or opt.dest))
    return not written <= known


def invalid_value(conf=CONF):
    """One line about the first option whose value cannot be read, or None.

    Registered options are read as the code reads them; an option a
    library registers only later (oslo.messaging's, when the transport is
    made) has its value as written checked against its type, so a service
    refuses it before it writes anything. See
    :func:`nova_versioning.conf.values.invalid_option`.
    """
    light = not _needs_every_namespace(conf)
    for group, opt in checked_opts(light=light):
        try:
            if group == 'DEFAULT':
                value = conf[opt.dest]
            else:
                value = conf[group][opt.dest]
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            error = values.check_unregistered(conf, group, opt)
            if error is not None:
                return str(error)
            continue
        except (cfg.ConfigSourceValueError, ValueError) as exc:
            return str(values.invalid_option(conf, group, opt, exc))
        error = values.check_read(conf, group, opt, value)
        if error is not None:
            return str(error)
    return _invalid_form(conf)


def _invalid_form(conf):
    """One line about a value of the right type but of a wrong form."""
    url = _value(conf, 'DEFAULT', 'transport_url')
    if url is not None:
        try:
            parsed = messaging.TransportURL.parse(conf, url)
        except messaging.InvalidTransportURL as exc:
            return invalid_transport_url(conf, exc)
        drivers = sorted(entry.name for entry in metadata.entry_points(
            group='oslo.messaging.drivers'))
        if drivers and parsed.transport not in drivers:
            return invalid_transport_url(conf, 'no transport driver %s '
                                         '(installed: %s)'
                                         % (exception.shown(
                                             parsed.transport, limit=40),
                                            ', '.join(drivers)))
    provider = _value(conf, 'versioning', 'history_provider')
    # 'default' is this package's own provider: no need to list them all.
    if provider is not None and provider != 'default':
        providers = sorted(entry.name for entry in metadata.entry_points(
            group='nova_versioning.history'))
        if providers and provider not in providers:
            return _invalid_text(conf, 'versioning', 'history_provider',
                                 provider, 'an installed history provider '
                                 '(%s)' % ', '.join(providers))
    params = _value(conf, 'database', 'connection_parameters')
    if params and not _QUERY_RE.fullmatch(params):
        return _invalid_text(
            conf, 'database', 'connection_parameters', params,
            'key=value pairs separated by &, as in a URL query')
    return None


def _invalid_text(conf, group, name, value, allowed):
    raw, where = values.raw_value(conf, group, name)
    return str(exception.InvalidOption(
        group=group, name=name, value=raw if raw is not None else value,
        where=' in %s' % where if where else '', allowed=allowed))


_QUERY_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_.-]*=[^&\x00-\x1f]*'
                       r'(&[A-Za-z_][A-Za-z0-9_.-]*=[^&\x00-\x1f]*)*')


def _value(conf, group, name):
    """The value of an option; as written when it is not registered yet."""
    try:
        return conf[name] if group == 'DEFAULT' else conf[group][name]
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return values.raw_value(conf, group, name)[0]


# -- arguments ------------------------------------------------------------

# Parsing the command line is parsers' (no database, messaging or eventlet
# code); these names are kept here for the commands.
argument_error = parsers.argument_error
_cut = parsers.cut
fail = parsers.fail


def parse_args(argv, prog, project=parsers.PROJECT,
               default_config_files=None, forms=(), one_shot=False):
    """Parse the command line and config files; set up logging.

    :func:`parsers.parse`, then :func:`setup`.
    """
    parsers.parse(argv, prog, project=project,
                  default_config_files=default_config_files, forms=forms)
    setup(prog, project=project, one_shot=one_shot)


def setup(prog, project=parsers.PROJECT, one_shot=False):
    """After the command line is parsed: check the values, set up logging.

    :param one_shot: an administration command run by an operator rather
        than a service: the database is tried once unless the
        configuration file sets ``[database]/max_retries``, and alembic's
        INFO lines are not logged.
    """
    if one_shot:
        CONF.set_default('max_retries', 0, group='database')
        logging.set_defaults(default_log_levels=(
            logging.get_default_log_levels() + ONE_SHOT_LOG_LEVELS))
    # Before logging.setup(), which reads options of its own.
    message = invalid_value(CONF)
    if message:
        # An operator error, not a usage error (see cli.EXIT_CODES).
        fail(prog, message, code=cli.EXIT_ERROR)
    try:
        logging.setup(CONF, project)
    except (OSError, ValueError) as exc:
        # A log file that cannot be opened, a log config that cannot be
        # read.
        fail(prog, _log_error(exc), code=cli.EXIT_ERROR)


def _log_error(exc):
    # The logging option set in the files, the likeliest culprit first.
    names = ['log_config_append', 'log_file', 'log_dir']
    names += sorted(opt.dest for opt in log_options.list_opts()[0][1]
                    if opt.dest not in names)
    for name in names:
        value, where = values.raw_value(CONF, 'DEFAULT', name)
        if value is not None:
            return ('Invalid value %s for option [DEFAULT]/%s%s: cannot '
                    'set up logging with it (%s)'
                    % (exception.shown(value), name,
                       ' in %s' % where if where else '', _first_line(exc)))
    return 'Cannot set up logging: %s' % _first_line(exc)


def bound_database_operations(conf=CONF, statements=True):
    """Give every database operation of the command a deadline.

    ``[versioning]/database_operation_timeout``, as for the services
    (:mod:`nova_versioning.db.timeouts`): a database that accepts the
    connection and never answers ends the command with one line instead
    of hanging it.

    :param statements: False bounds connecting only, for ``db sync``,
        whose migrations may rightly take longer than any query.
    """
    timeouts.install(conf, statements=statements)


def check_connection_url(conf=CONF):
    """Raise as SQLAlchemy does when [database]/connection is unusable.

    Checked before oslo.db reads the URL, which logs a warning of its own
    about it first.
    """
    url = sa_url.make_url(conf.database.connection)
    url.get_dialect()
    try:
        # Cells: the URLs of the cell databases are read later, from the
        # API database; they may name any backend.
        backends = None if conf.api_database.connection else (
            url.get_backend_name(),)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        backends = (url.get_backend_name(),)
    drivers.use_installed_drivers(backends)
    drivers.check_driver(conf.database.connection)


def run(prog, func, *args, **kwargs):
    """Call func; turn operator mistakes into one line and exit 1."""
    try:
        check_connection_url()
        return func(*args, **kwargs)
    except Exception as exc:
        message = describe_error(schema_error(exc))
        if message is None:
            raise
        fail(prog, message)


def check_schema():
    """Raise SchemaNotSynced unless the database has every table.

    First DatabaseNeeded for an SQLite file that does not exist: a
    command that reads creates nothing (cli.require_database).

    Asked of the inspector before a command reads the services table: a
    query on a table that does not exist fails in each backend's own way
    (SQLite "no such table", MySQL "doesn't exist", PostgreSQL "relation
    ... does not exist"), and oslo.db logs a traceback for the last one.
    """
    cli.require_database(CONF)
    missing = migration.missing_tables()
    if missing:
        raise exception.SchemaNotSynced(connection=masked_connection(),
                                        tables=', '.join(missing),
                                        manage=cli.manage_command(CONF))


def schema_error(exc):
    """SchemaNotSynced when ``exc`` comes of a database without the schema.

    For a query that got past :func:`check_schema` (the schema dropped in
    between, or a command that does not check first). Any other exception
    is returned as it is.
    """
    if not isinstance(exc, (db_exc.DBError, sa_exc.DBAPIError)) or \
            isinstance(exc, (db_exc.DBConnectionError,
                             db_exc.DBNonExistentDatabase)):
        return exc
    try:
        check_schema()
    except exception.SchemaNotSynced as missing:
        return missing
    except Exception:
        pass
    return exc


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
