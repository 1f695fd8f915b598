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
"""nova-versioning-status: what holds the RPC version pins; upgrade checks.

    nova-versioning-status [--config-file F] pins [--format table|json]
        [--assume-upgraded HOST[,HOST...]] [--assume-removed HOST[,HOST...]]
    nova-versioning-status [--config-file F] upgrade check [--json]

Both commands only read the services table. One sub-command option,
``command``, holds both: ``pins`` and ``upgrade`` (with its ``check``
action). oslo.upgradecheck's own ``main()`` is not used, since it owns the
whole parser; :class:`UpgradeChecks` is its ``UpgradeCommands`` and its
``check()`` prints the results table (or JSON with ``--json``) and returns
the worst code: 0 success, 1 warning, 2 failure.

Exit codes: a wrong argument or configuration file, 2; a database that
cannot be used (or an unknown what-if host), one line and 1 for ``pins``,
255 for ``upgrade check`` (as oslo.upgradecheck does on errors, so that
it is not mistaken for a check result).
"""

import json
import sys

from oslo_config import cfg
from oslo_upgradecheck import upgradecheck

from nova_versioning.cmd import common
from nova_versioning import conf as nv_conf
from nova_versioning import context as nv_context
from nova_versioning.db import migration
from nova_versioning import history as nv_history
from nova_versioning import objects
from nova_versioning import pinreport
from nova_versioning import records
from nova_versioning.rpc import pinning

CONF = nv_conf.CONF
PROG = 'nova-versioning-status'

FORMATS = ('table', 'json')

# Exit code of `upgrade check` when it cannot check at all.
CHECK_ERROR = 255

MANAGE = 'nova-versioning-manage --config-file <file>'

# Quoted by argument errors.
FORMS = (
    'pins [--format table|json] [--assume-upgraded HOST[,HOST...]] '
    '[--assume-removed HOST[,HOST...]]',
    'upgrade check [--json]',
)


def _host_list(value):
    hosts = [host.strip() for host in value.split(',')]
    if not all(hosts):
        raise ValueError('empty host name')
    return hosts


_host_list.__name__ = 'host list'


def add_command_parsers(subparsers):
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
    check.add_argument('--json', action='store_true',
                       help='Print the results as JSON.')


command_opt = cfg.SubCommandOpt(
    'command', title='Commands', handler=add_command_parsers)


# -- pins -------------------------------------------------------------------


def _flatten(groups):
    return [host for group in groups for host in group]


def pins_report(context, conf=CONF, upgraded=(), removed=(), now=None):
    """The pins report (plain data), read from the database once."""
    fleet = pinreport.Fleet.load(context, conf=conf, now=now)
    if upgraded or removed:
        fleet = fleet.what_if(upgraded=upgraded, removed=removed)
    return fleet.report()


def _describe(version, release):
    if not version:
        return 'none'
    return '%d (%s)' % (version, release) if release else str(version)


def format_pins(report):
    """The pins report as text lines for an operator."""
    lines = ['Service version of this code: %s; history %s.'
             % (_describe(report['service_version'], report['release']),
                report['history'])]
    if report['stale_service_timeout']:
        lines.append('Stale records: no heartbeat for more than %d s; they '
                     'do not count ([versioning]/stale_service_timeout).'
                     % report['stale_after'])
    else:
        lines.append('Stale records: no heartbeat for more than %d s; they '
                     'still count ([versioning]/stale_service_timeout is '
                     '0).' % report['stale_after'])
    what_if = report['what_if']
    if what_if['upgraded'] or what_if['removed']:
        parts = []
        if what_if['upgraded']:
            parts.append('%s upgraded to %s' % (
                ', '.join(what_if['upgraded']),
                _describe(report['service_version'], report['release'])))
        if what_if['removed']:
            parts.append('%s removed' % ', '.join(what_if['removed']))
        lines.append('What-if, nothing written: %s.' % '; '.join(parts))
    lines.append('')
    rows = []
    for api in report['apis']:
        if api['error']:
            cap = 'invalid'
        else:
            cap = '%s (%s)' % (api['cap'], api['source'])
        rows.append([api['api'], api['binary'],
                     api['configured'] if api['configured'] else '(unset)',
                     cap, api['auto_cap'], api['latest_cap'],
                     _describe(api['minimum_version'],
                               api['minimum_release']),
                     pinreport.hosts_text(
                         [h['host'] for h in api['at_minimum']], limit=3)
                     if api['auto_cap'] != api['latest_cap'] else None])
    lines.extend(common.format_table(
        ['API', 'RECEIVERS', 'CONFIGURED', 'CAP (SOURCE)', 'AUTO NOW',
         'LATEST', 'MINIMUM', 'HELD BY'], rows))
    for api in report['apis']:
        lines.extend(_api_details(api))
    if report['odd_records']:
        lines.extend(['', 'Records no service writes as such (%d):'
                      % len(report['odd_records'])])
        lines.extend(common.format_table(
            ['HOST', 'BINARY', 'PROBLEM'],
            [[odd['host'], odd['binary'], odd['problem']]
             for odd in report['odd_records']], indent='  '))
    return lines


def _host_rows(hosts, counted=False):
    rows = []
    for host in hosts:
        version = (_describe(host['version'], host['release'])
                   if records.version_known(host['version'])
                   else 'unknown (%s)' % host['version'])
        row = [host['host'], version, host['last_heartbeat']]
        if counted:
            row.append('yes' if host['counted'] else 'no')
        rows.append(row)
    return rows


def _api_details(api):
    lines = ['']
    name = api['api']
    if api['error']:
        lines.append('%s: %s' % (name, api['error']))
    if api['at_minimum']:
        lines.append('%s: %s at the minimum version %s:' % (
            name, api['binary'],
            _describe(api['minimum_version'], api['minimum_release'])))
        lines.extend(common.format_table(
            ['HOST', 'VERSION', 'LAST HEARTBEAT'],
            _host_rows(api['at_minimum']), indent='  '))
    else:
        lines.append('%s: no %s counts toward the minimum version.'
                     % (name, api['binary']))
    if api['stale']:
        lines.append('%s: %s records that look stale:'
                     % (name, api['binary']))
        lines.extend(common.format_table(
            ['HOST', 'VERSION', 'LAST HEARTBEAT', 'COUNTED'],
            _host_rows(api['stale'], counted=True), indent='  '))
    if api['forced_down']:
        lines.append('%s: %s records forced down (not counted):'
                     % (name, api['binary']))
        lines.extend(common.format_table(
            ['HOST', 'VERSION', 'LAST HEARTBEAT'],
            _host_rows(api['forced_down']), indent='  '))
    return lines


def pins_command():
    common.check_schema()
    report = pins_report(nv_context.get_admin_context(),
                         upgraded=_flatten(CONF.command.assume_upgraded),
                         removed=_flatten(CONF.command.assume_removed))
    if CONF.command.output_format == 'json':
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print('\n'.join(format_pins(report)))
    return 0


# -- upgrade check ------------------------------------------------------------


Code = upgradecheck.Code
Result = upgradecheck.Result


class UpgradeChecks(upgradecheck.UpgradeCommands):
    """The checks of ``nova-versioning-status upgrade check``.

    The schema revision and the service records are read once, when the
    first check needs them.
    """

    display_title = 'nova-versioning upgrade check results'

    def __init__(self, context=None, conf=CONF, now=None):
        super().__init__()
        self.context = context or nv_context.get_admin_context()
        self.conf = conf
        self.now = now
        self._schema = None
        self._fleet = None

    def _revisions(self):
        if self._schema is None:
            self._schema = (migration.db_version(),
                            migration.head_version())
        return self._schema

    def fleet(self):
        """The service records, or None when there is no schema yet."""
        if self._revisions()[0] is None:
            return None
        if self._fleet is None:
            self._fleet = pinreport.Fleet.load(self.context, conf=self.conf,
                                               now=self.now)
        return self._fleet

    @staticmethod
    def _not_checked():
        return Result(Code.WARNING,
                      'Not checked: the services table does not exist yet '
                      '(see the database schema check).')

    def _check_schema(self):
        current, head = self._revisions()
        if current == head:
            return Result(Code.SUCCESS)
        return Result(Code.FAILURE,
                      'The database schema is at revision %s; this code '
                      'needs %s. Run: %s db sync'
                      % (current or 'none (never synced)', head, MANAGE))

    def _check_old_computes(self):
        fleet = self.fleet()
        if fleet is None:
            return self._not_checked()
        history = fleet.history
        oldest = history.oldest_supported_version
        too_old = [r for r in fleet.of('nova-compute')
                   if r.counted and r.version < oldest]
        if not too_old:
            return Result(Code.SUCCESS)
        return Result(
            Code.FAILURE,
            'nova-compute services older than version %s, the first of the '
            'oldest supported release, are recorded: %s. A conductor of '
            'this release refuses to start next to them. Upgrade them, or '
            'if they are gone run: %s service delete <host> nova-compute '
            '(or service force-down).'
            % (history.describe(oldest),
               ', '.join('%s (version %s)' % (records.printable(r.host),
                                              history.describe(r.version))
                         for r in too_old), MANAGE))

    def _check_stale(self):
        fleet = self.fleet()
        if fleet is None:
            return self._not_checked()
        problems = []
        for api in fleet.apis():
            binary = pinreport.binary_of(api)
            stale = [r for r in fleet.at_minimum(binary) if r.stale]
            if not stale:
                continue
            try:
                held = fleet.auto_decision(api)
                free = fleet.auto_decision(api, exclude=lambda r: r.stale)
            except pinreport.RESOLUTION_ERRORS:
                continue
            if held.cap == free.cap:
                continue
            problems.append(
                '%s records with no heartbeat for more than %d s hold the '
                '%s RPC version cap of auto at %s instead of %s: %s.'
                % (binary, fleet.stale_after, api, held.cap, free.cap,
                   ', '.join('%s (version %s, last heartbeat %s)'
                             % (records.printable(r.host),
                                fleet.history.describe(r.version),
                                pinreport.format_time(r.last_heartbeat))
                             for r in stale)))
        if not problems:
            return Result(Code.SUCCESS)
        return Result(
            Code.WARNING,
            ' '.join(problems) + ' If these services are gone, run: %s '
            'service delete <host> <binary> (or service force-down), or '
            'set [versioning]/stale_service_timeout on the conductors.'
            % MANAGE)

    def _check_pins(self):
        fleet = self.fleet()
        if fleet is None:
            return self._not_checked()
        failures = []
        warnings = []
        for api in fleet.apis():
            option = '[upgrade_levels]/%s' % api
            try:
                decision = fleet.decision(api)
                auto = fleet.auto_decision(api)
            except pinreport.RESOLUTION_ERRORS as exc:
                failures.append(str(exc))
                continue
            if decision.source not in (pinning.SOURCE_EXPLICIT,
                                       pinning.SOURCE_ALIAS):
                continue
            if _version(decision.cap) < _version(auto.cap):
                warnings.append(
                    '%s = %s caps the %s RPC version at %s, but auto would '
                    'choose %s now (minimum %s version %s).'
                    % (option, decision.configured, api, decision.cap,
                       auto.cap, auto.binary,
                       fleet.history.describe(auto.minimum_version)))
        if failures:
            return Result(Code.FAILURE, ' '.join(failures + warnings))
        if warnings:
            return Result(
                Code.WARNING,
                ' '.join(warnings) + ' A leftover from an upgrade? Set it '
                'to auto or remove it, then send SIGHUP to the services.')
        return Result(Code.SUCCESS)

    def _check_odd_records(self):
        fleet = self.fleet()
        if fleet is None:
            return self._not_checked()
        odd = fleet.odd_records()
        if not odd:
            return Result(Code.SUCCESS)
        # A counted record of unknown version holds pins down: a failure.
        holding = any(record.counted and not record.version_known
                      for record, _problem in odd)
        return Result(
            Code.FAILURE if holding else Code.WARNING,
            'Service records no service writes as such: %s. Delete the '
            'records of services that are gone (%s service delete <host> '
            '<binary>); restart the others so that they record themselves '
            'again.'
            % ('; '.join('%s on host %s: %s'
                         % (records.printable(record.binary),
                            records.printable(record.host), problem)
                         for record, problem in odd), MANAGE))

    _upgrade_checks = (
        ('Database schema', _check_schema),
        ('Computes older than the oldest supported release',
         _check_old_computes),
        ('Stale service records', _check_stale),
        ('RPC version pins', _check_pins),
        ('Odd service records', _check_odd_records),
    )

    def results(self):
        """[(check name, Result)] without printing anything."""
        return [(name, func(self)) for name, func in self._upgrade_checks]


def _version(text):
    return nv_history.parse_rpc_version(text)


def upgrade_check_command():
    # UpgradeCommands.check() reads --json from its module's CONF.
    upgradecheck.CONF = CONF
    try:
        common.check_connection_url()
        return int(UpgradeChecks().check())
    except Exception as exc:
        message = common.describe_error(common.schema_error(exc))
        if message is None:
            raise
        common.fail(PROG, message, code=CHECK_ERROR)


def main(argv=None):
    argv = sys.argv if argv is None else argv
    objects.register_all()
    CONF.register_cli_opt(command_opt)
    common.parse_args(argv, PROG, forms=FORMS, one_shot=True)
    if CONF.command.name == 'pins':
        return common.run(PROG, pins_command)
    return upgrade_check_command()
