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
"""The command lines of the console scripts, and parsing them.

Everything here needs oslo.config and oslo.log only: ``--help``, an
unknown command or argument and a missing configuration file end the
command before anything imports the database, messaging or eventlet code
(see :func:`nova_versioning.cmd.run_script`). The commands themselves
live in their modules (status, manage, grenade, service) and are imported
once the command line is known to be good.

Options of groups other than the command line's are registered after the
parse, by the command: oslo.config reads their values from the files it
parsed already.
"""

import collections
import contextlib
import io
import sys

from oslo_config import cfg
from oslo_log import log as logging

from nova_versioning.cmd import cli

CONF = cfg.CONF
PROJECT = 'nova_versioning'

FORMATS = cli.FORMATS


# -- nova-versioning-status ----------------------------------------------

STATUS_FORMS = (
    'pins [--format table|json] [--assume-upgraded HOST[,HOST...]] '
    '[--assume-removed HOST[,HOST...]]',
    'upgrade check [--format table|json] [--json]',
)


def _host_list(value):
    hosts = [host.strip() for host in value.split(',')]
    if not all(hosts):
        raise ValueError('empty host name')
    return hosts


_host_list.__name__ = 'host list'


def add_status_parsers(subparsers):
    pins = subparsers.add_parser(
        'pins', help='Show, for each RPC API, its version cap and the hosts '
                     'holding it down.')
    pins.add_argument('--format', dest='output_format', choices=FORMATS,
                      default='table',
                      help='Output format (default: table).')
    pins.add_argument('--assume-upgraded', dest='assume_upgraded',
                      metavar='HOST[,HOST...]', type=_host_list,
                      action='append', default=[],
                      help='Report as if these hosts ran this code\'s '
                           'service version (repeatable).')
    pins.add_argument('--assume-removed', dest='assume_removed',
                      metavar='HOST[,HOST...]', type=_host_list,
                      action='append', default=[],
                      help='Report as if the records of these hosts were '
                           'deleted (repeatable).')
    upgrade = subparsers.add_parser(
        'upgrade', help='Checks to run before and during an upgrade.')
    actions = upgrade.add_subparsers(dest='action', metavar='ACTION')
    actions.required = True
    check = actions.add_parser(
        'check', help='Check the deployment is ready for this release; '
                      'exit code 0 (success), 1 (warning) or 2 (failure).')
    check.add_argument('--format', dest='output_format', choices=FORMATS,
                       default='table',
                       help='Output format (default: table).')
    check.add_argument('--json', action='store_true',
                       help='The same as --format json (as other '
                            'oslo.upgradecheck commands take it).')


status_command_opt = cfg.SubCommandOpt(
    'command', title='Commands', handler=add_status_parsers)


# -- nova-versioning-manage ----------------------------------------------

MANAGE_FORMS = (
    'db sync [--version REV]',
    'db version [--format table|json]',
    'db index create|drop',
    'service list [--binary nova-<name>] [--cell CELL] '
    '[--format table|json]',
    'service delete HOST BINARY',
    'service force-down HOST BINARY [--unset]',
)

DB_HELP = 'Schema of the services table.'
SERVICE_HELP = 'Service records: list, delete, force down.'


def add_manage_parsers(subparsers):
    db = subparsers.add_parser('db', help=DB_HELP)
    db_actions = db.add_subparsers(dest='action', metavar='ACTION')
    db_actions.required = True
    sync = db_actions.add_parser(
        'sync', help='Create or upgrade the schema on [database]/connection.')
    sync.add_argument('--version', default=None,
                      help='Target revision (default: the newest).')
    version = db_actions.add_parser(
        'version', help='Print the schema revision of the database.')
    index = db_actions.add_parser(
        'index', help='On a Nova database only: add (create) or remove '
                      '(drop) the minimum-version index on Nova\'s services '
                      'table. Nothing else of Nova\'s schema is written.')
    index.add_argument('operation', choices=('create', 'drop'),
                       metavar='create|drop')
    version.add_argument('--format', dest='output_format',
                         choices=FORMATS, default='table',
                         help='Output format (default: table).')

    service = subparsers.add_parser('service', help=SERVICE_HELP)
    service_actions = service.add_subparsers(dest='action', metavar='ACTION')
    service_actions.required = True
    listing = service_actions.add_parser(
        'list', help='List the live service records, with their version, '
                     'last heartbeat and whether they count toward the '
                     'minimum version.')
    listing.add_argument('--binary', default=None,
                         help='Only the records of this binary '
                              '(nova-<name>).')
    listing.add_argument('--cell', default=None,
                         help='Only the records of this cell (its name or '
                              'uuid in cell_mappings); needs '
                              '[api_database]/connection.')
    listing.add_argument('--format', dest='output_format',
                         choices=('table', 'json'), default='table',
                         help='Output format (default: table).')
    for name, help_text in (
            ('delete', 'Soft-delete the record of a service that is gone '
                       'for good.'),
            ('force-down', 'Mark a record forced down: it stops counting '
                           'toward the minimum version (its recorded '
                           'version is kept).')):
        action = service_actions.add_parser(name, help=help_text)
        action.add_argument('service_host', metavar='HOST')
        action.add_argument('service_binary', metavar='BINARY',
                            help='nova-<name>, for example nova-compute.')
        if name == 'force-down':
            action.add_argument('--unset', action='store_true',
                                help='Clear forced_down instead.')


manage_category_opt = cfg.SubCommandOpt(
    'category', title='Command categories', handler=add_manage_parsers)


# -- nova-versioning-grenade ---------------------------------------------

grenade_cli_opts = [
    cfg.StrOpt('mode', default='embedded',
               choices=['embedded', 'real', 'nova'],
               help='embedded: services in this process, SQLite file, '
                    'in-process transport. real: service processes, '
                    'RabbitMQ, a real database. nova: real Nova, an N-1 '
                    'to N upgrade.'),
    cfg.StrOpt('db-kind', default='mysql',
               choices=['mysql', 'postgresql', 'sqlite'],
               help='real mode: the kind of database to provision.'),
    cfg.StrOpt('db-url',
               help='real mode: use this database instead of provisioning '
                    'one (its services table is created or upgraded).'),
    cfg.StrOpt('broker-url',
               default='rabbit://guest:guest@127.0.0.1:5672/',
               help='real mode: the broker; a virtual host of its own is '
                    'created when rabbitmqctl is available.'),
    cfg.StrOpt('backend', default='threading',
               choices=['threading', 'eventlet'],
               help='real mode: oslo.service backend of the services.'),
    cfg.IntOpt('computes', default=3, min=3, max=20,
               help='How many computes (at least three: one upgraded '
                    'first, one in the middle, one last).'),
    cfg.FloatOpt('stage-seconds', default=3.0, min=0.5,
                 help='How long the load runs in each stage.'),
    cfg.StrOpt('report', default='grenade-report.json',
               help='Where the JSON report is written.'),
    cfg.StrOpt('break', choices=['unpinned', 'objects', 'overpinned'],
               help='Run a broken variant that must fail: unpinned leaves '
                    'every [upgrade_levels] option unset; objects sets '
                    '[versioning]/disable_object_compat on every service '
                    '(objects go at the sender\'s versions, no backport), '
                    'so old computes cannot read what new controllers '
                    'send; overpinned (nova mode only) pins the new control '
                    'plane\'s compute RPC to its latest version while '
                    'computes are old.'),
    cfg.StrOpt('workdir',
               help='Directory for state, configuration and logs (kept); '
                    'by default a temporary one, removed afterwards unless '
                    'a real-mode run failed.'),
]


# -- every script ----------------------------------------------------------

Script = collections.namedtuple('Script', 'prog cli_opts forms one_shot')

#: The command line of each console script, by command module name.
SCRIPTS = {
    'status': Script('nova-versioning-status', [status_command_opt],
                     STATUS_FORMS, True),
    'manage': Script('nova-versioning-manage', [manage_category_opt],
                     MANAGE_FORMS, True),
    'grenade': Script('nova-versioning-grenade', grenade_cli_opts, (),
                      False),
    'conductor': Script('nova-versioning-conductor', [], (), False),
    'compute': Script('nova-versioning-compute', [], (), False),
}


def _context_words(prefix, argv, forms):
    """The command words an argparse error is about."""
    words = prefix.split()[1:]
    if words:
        return words
    known = [form.split() for form in forms]
    for index, arg in enumerate(argv):
        if arg in {form[0] for form in known}:
            words = [arg]
            if index + 1 < len(argv) and argv[index + 1] in {
                    form[1] for form in known
                    if form[0] == arg and len(form) > 1}:
                words.append(argv[index + 1])
            return words
    return []


def _expected(words, forms):
    matching = [form for form in forms
                if form.split()[:len(words)] == words] or list(forms)
    if len(matching) == 1:
        return 'expected: %s' % matching[0]
    return 'expected one of: %s' % ' | '.join(matching)


def argument_error(text, argv, forms=()):
    """argparse's usage block and error, as one line with the forms."""
    lines = [line for line in text.splitlines() if ': error: ' in line]
    if not lines:
        return None, text.strip()
    prefix, message = lines[-1].split(': error: ', 1)
    if forms and 'invalid choice' not in message:
        required = 'the following arguments are required: '
        if message.startswith(required):
            missing = message[len(required):]
            # The sub-command options: oslo.config's dest, or ACTION.
            if missing in ('command', 'category', 'ACTION'):
                message = 'missing the %s' % (
                    'action' if missing == 'ACTION' else 'command')
        message = '%s; %s' % (message, _expected(
            _context_words(prefix, argv, forms), forms))
    return prefix, message


def cut(text, limit=600):
    """One line of at most about ``limit`` characters."""
    text = ' '.join(text.splitlines())
    if len(text) > limit:
        text = '%s... (%d characters)' % (text[:limit - 40], len(text))
    return text


def first_line(exc):
    text = str(exc).strip()
    line = text.splitlines()[0] if text else exc.__class__.__name__
    return line.split(' (Background on this error')[0]


def fail(prog, message, code=1):
    sys.stderr.write('%s: error: %s\n' % (prog, cut(message, 2000)))
    sys.exit(code)


def parse(argv, prog, cli_opts=(), project=PROJECT,
          default_config_files=None, forms=()):
    """Parse the command line and read the configuration files.

    ``--help`` exits 0; a wrong argument or a missing configuration file
    ends the command with one line and exit code 2 (see cli.EXIT_CODES).
    Logging is not set up yet: see common.setup().

    :param argv: the command line, program name first.
    :param cli_opts: the script's own command-line options.
    :param forms: the command forms of a script with sub-commands, such
        as ``'db sync [--version REV]'``, quoted by argument errors.
    """
    CONF.register_cli_opts(cli_opts)
    logging.register_options(CONF)
    # Command output goes to stdout; logs go to stderr unless configured.
    CONF.set_default('use_stderr', True)
    captured = io.StringIO()
    try:
        # argparse prints its usage block and error there, then exits 2.
        with contextlib.redirect_stderr(captured):
            CONF(cli.hoist_global_options(argv[1:], CONF), project=project,
                 prog=prog,
                 default_config_files=default_config_files)
    except SystemExit as exc:
        if exc.code in (0, None):
            raise
        prefix, message = argument_error(captured.getvalue(), argv[1:],
                                         forms)
        sys.stderr.write('%s: error: %s\n'
                         % (prefix or prog, cut(message)))
        sys.exit(2)
    except cfg.Error as exc:
        fail(prog, first_line(exc), code=2)
    sys.stderr.write(captured.getvalue())


def parse_script(name, argv=None):
    """Parse the command line of the console script of module ``name``."""
    script = SCRIPTS[name]
    parse(sys.argv if argv is None else argv, script.prog,
          cli_opts=script.cli_opts, forms=script.forms)
    return script
