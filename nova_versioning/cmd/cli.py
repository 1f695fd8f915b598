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
"""One convention for every console script.

* Global options (``--config-file``, ``--config-dir``, the logging
  options) are accepted before or after the sub-command:
  :func:`hoist_global_options`.
* ``--format table|json`` everywhere (``upgrade check`` also takes
  oslo.upgradecheck's ``--json``).
* Exit codes, the same for every script (:data:`EXIT_CODES`).
* Advice names the real configuration file, host and binary
  (:func:`manage_command`).
* Read-only commands never create a database: :func:`require_database`.
"""

import os
import shlex

from oslo_config import cfg

from nova_versioning import records

# The exit codes of every console script, as documented in the CLI
# reference.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_FAILURE = 2
EXIT_NOT_CHECKED = 255

EXIT_CODES = (
    (EXIT_OK, 'success: the command did what it was asked; every check '
              'passed.'),
    (EXIT_ERROR, 'an operator error (a bad value in a configuration file, '
                 'a database that cannot be used, an unknown host or '
                 'binary, an invalid [upgrade_levels] value), a warning '
                 'of upgrade check, or a rolling-upgrade job that failed.'),
    (EXIT_FAILURE, 'a usage error (unknown command or argument, missing '
                   'configuration file), a failed upgrade check, or a '
                   'failed rolling-upgrade job set-up.'),
    (EXIT_NOT_CHECKED, 'upgrade check could not check at all (the '
                       'database cannot be used).'),
)

FORMATS = ('table', 'json')


def _cli_opts(conf):
    try:
        return list(conf._all_cli_opts())
    except AttributeError:
        return []


def _has_subcommands(conf):
    return any(isinstance(opt, cfg.SubCommandOpt)
               for opt, _group in _cli_opts(conf))


def _global_options(conf):
    """{'--name': takes_a_value} of the options of the main parser."""
    options = {'--config-file': True, '--config-dir': True}
    for opt, group in _cli_opts(conf):
        if isinstance(opt, cfg.SubCommandOpt) or opt.positional:
            continue
        takes_value = not isinstance(opt, cfg.BoolOpt)
        prefix = '--' if group is None else '--%s-' % group.name
        options[prefix + opt.name] = takes_value
        if not takes_value:
            options[prefix + 'no' + opt.name] = False
        if opt.short and group is None:
            options['-' + opt.short] = takes_value
        for deprecated in opt.deprecated_opts:
            if deprecated.name and deprecated.group in (None, 'DEFAULT'):
                options['--' + deprecated.name] = takes_value
    return options


def hoist_global_options(args, conf):
    """``args`` with the global options found after the sub-command first.

    argparse accepts the main parser's options only before the
    sub-command; operators write ``nova-versioning-status pins
    --config-file F`` too.

    :param args: the command line without the program name.
    """
    if not _has_subcommands(conf):
        return list(args)
    options = _global_options(conf)

    def option_of(token):
        name = token.split('=', 1)[0]
        if name in options:
            return name, options[name] and '=' not in token
        return None, False

    head = []
    index = 0
    # Up to the sub-command: the global options as they are.
    while index < len(args):
        token = args[index]
        if not token.startswith('-') or token == '--':
            break
        name, value_follows = option_of(token)
        head.append(token)
        if value_follows and index + 1 < len(args):
            head.append(args[index + 1])
            index += 1
        index += 1
    if index >= len(args) or args[index] == '--':
        return list(args)
    tail = []
    hoisted = []
    while index < len(args):
        token = args[index]
        if token == '--':
            tail.extend(args[index:])
            break
        name, value_follows = option_of(token)
        if name is None:
            tail.append(token)
        else:
            hoisted.append(token)
            if value_follows and index + 1 < len(args):
                hoisted.append(args[index + 1])
                index += 1
        index += 1
    return head + hoisted + tail


def config_files(conf):
    """The configuration files read, in order (directories' files too)."""
    files = list(getattr(conf, 'config_file', None) or [])
    for directory in getattr(conf, 'config_dir', None) or []:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        files.extend(os.path.join(directory, name) for name in names
                     if name.endswith('.conf'))
    return files


def config_args(conf):
    """The ``--config-file``/``--config-dir`` arguments of this command."""
    args = []
    for path in getattr(conf, 'config_file', None) or []:
        args.append('--config-file %s' % path)
    for path in getattr(conf, 'config_dir', None) or []:
        args.append('--config-dir %s' % path)
    return ' '.join(args)


def manage_command(conf):
    """``nova-versioning-manage`` with this command's configuration."""
    args = config_args(conf)
    if args:
        return 'nova-versioning-manage %s' % args
    return 'nova-versioning-manage'


def shell_word(value):
    """A record's host or binary as one word of a command line, printable."""
    return shlex.quote(records.printable(value))


def nova_delete_command(host, binary):
    """Nova's own command to delete the service record of host and binary.

    Nova's API deletes by service ID: the command looks it up by the
    host and binary, so it can be copied as it is.
    """
    return ('openstack compute service delete $(openstack compute service '
            'list --host %s --service %s -f value -c ID)'
            % (shell_word(host), shell_word(binary)))


class DatabaseNeeded(Exception):
    """A read-only command was given no database to read."""


def require_database(conf):
    """Refuse to read an SQLite database that does not exist.

    SQLite creates a missing file on connect: a read-only command run
    with no configuration file (so on the default
    ``sqlite:///$state_path/nova_versioning.sqlite``) would leave an empty
    database behind. Raise DatabaseNeeded instead, before anything
    connects.
    """
    # Here, not at the top: the command line is parsed before anything
    # imports the database code (cmd.parsers).
    import sqlalchemy.engine.url as sa_url

    connection = conf.database.connection
    try:
        url = sa_url.make_url(connection)
    except Exception:
        return
    if url.get_backend_name() != 'sqlite':
        return
    path = url.database
    if not path or path == ':memory:' or path.startswith('file:'):
        return
    if os.path.exists(path):
        return
    files = getattr(conf, 'config_file', None) or []
    where = ('in %s' % files[-1] if files else
             'in a configuration file (none was found; for example '
             '/etc/nova_versioning/nova_versioning.conf)')
    raise DatabaseNeeded(
        'the file does not exist and this command creates none: '
        '[database]/connection is needed. Set it %s, or run %s db sync to '
        'create the database.' % (where, manage_command(conf)))
