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
    nova-versioning-status [--config-file F] upgrade check
        [--format table|json] [--json]

Both commands only read the services table. One sub-command option,
``command``, holds both: ``pins`` and ``upgrade`` (with its ``check``
action). oslo.upgradecheck's own ``main()`` is not used, since it owns the
whole parser; :class:`UpgradeChecks` is its ``UpgradeCommands`` and its
``check()`` prints the results table (or JSON with ``--json``) and returns
the worst code: 0 success, 1 warning, 2 failure.

Exit codes (one table for every script: cmd/cli.py, and the CLI
reference): a wrong argument or a missing configuration file, 2; a bad
value in a configuration file, 1; a database that cannot be used (or an
unknown what-if host), one line and 1 for ``pins``;
``pins`` also exits 1, after its report and one line on stderr, when a
configured ``[upgrade_levels]`` value is invalid;
255 for ``upgrade check`` (as oslo.upgradecheck does on errors, so that
it is not mistaken for a check result).
"""

import configparser
import difflib
import glob
import json
import os
import types

from oslo_upgradecheck import upgradecheck

from nova_versioning.cmd import cli
from nova_versioning.cmd import common
from nova_versioning.cmd import parsers
from nova_versioning import conf as nv_conf
from nova_versioning.conf import values
from nova_versioning import context as nv_context
from nova_versioning.db import migration
from nova_versioning import guards
from nova_versioning import history as nv_history
from nova_versioning import objects
from nova_versioning.objects import service as service_obj
from nova_versioning import pinreport
from nova_versioning import records
from nova_versioning.rpc import pinning

CONF = nv_conf.CONF
PROG = 'nova-versioning-status'

FORMATS = cli.FORMATS

# Exit code of `upgrade check` when it cannot check at all.
CHECK_ERROR = 255

# Quoted by argument errors.
FORMS = parsers.STATUS_FORMS
add_command_parsers = parsers.add_status_parsers
command_opt = parsers.status_command_opt


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
    lines = ['Service version of this code: %s; history %s (%s).'
             % (_describe(report['service_version'], report['release']),
                report['history'], report['history_source'])]
    if report['undescribed_apis']:
        lines.append('The history does not describe the %s RPC API(s): '
                     'auto uses the latest version of the sending code.'
                     % ', '.join(report['undescribed_apis']))
    if report['newer_than_history']:
        lines.append(
            'WARNING: %s records run service versions newer than the '
            'newest this history knows (%d): %s. This tool is older than '
            'the fleet: run it from the newest release installed (for the '
            'nova history, with that Nova installed).'
            % (len(report['newer_than_history']), report['service_version'],
               ', '.join('%s %s (version %d)' % (r['binary'], r['host'],
                                                 r['version'])
                         for r in report['newer_than_history'])))
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
                     _configured(api['configured']),
                     cap, api['auto_cap'] or 'error', api['latest_cap'],
                     _describe(api['minimum_version'],
                               api['minimum_release']),
                     pinreport.hosts_text(
                         [_host_label(h) for h in api['at_minimum']],
                         limit=3)
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


# The longest configured value the pins table shows as it is.
CONFIGURED_SHOWN = 40


def _configured(value):
    """A configured value for the pins table: cut when long."""
    if not value:
        return '(unset)'
    if len(value) <= CONFIGURED_SHOWN:
        return value
    return '%s... (%d characters)' % (value[:CONFIGURED_SHOWN], len(value))


def _host_label(host):
    """"host", or "host (cell)" when the report covers every cell."""
    if host.get('cell'):
        return '%s (%s)' % (host['host'], host['cell'])
    return host['host']


def _host_columns(api, *columns):
    """The column headers of a table of hosts of the report."""
    if any('cell' in host for key in ('at_minimum', 'stale', 'forced_down')
           for host in api[key]):
        return ['HOST', 'CELL'] + list(columns)
    return ['HOST'] + list(columns)


def _host_rows(hosts, counted=False):
    rows = []
    for host in hosts:
        version = (_describe(host['version'], host['release'])
                   if records.version_known(host['version'])
                   else 'unknown (%s)' % host['version'])
        row = [host['host']] + ([host['cell']] if 'cell' in host else []) + [
            version, host['last_heartbeat']]
        if counted:
            row.append('yes' if host['counted'] else 'no')
        rows.append(row)
    return rows


def _api_details(api):
    lines = ['']
    name = api['api']
    if api['error']:
        lines.append('%s: %s' % (name, api['error']))
    if api['auto_error'] and api['auto_error'] != api['error']:
        lines.append('%s: auto: %s' % (name, api['auto_error']))
    if api['warning']:
        lines.append('%s: WARNING: %s' % (name, api['warning']))
    if api['at_minimum']:
        lines.append('%s: %s at the minimum version %s:' % (
            name, api['binary'],
            _describe(api['minimum_version'], api['minimum_release'])))
        lines.extend(common.format_table(
            _host_columns(api, 'VERSION', 'LAST HEARTBEAT'),
            _host_rows(api['at_minimum']), indent='  '))
    else:
        lines.append('%s: no %s counts toward the minimum version.'
                     % (name, api['binary']))
    if api['stale']:
        lines.append('%s: %s records that look stale:'
                     % (name, api['binary']))
        lines.extend(common.format_table(
            _host_columns(api, 'VERSION', 'LAST HEARTBEAT', 'COUNTED'),
            _host_rows(api['stale'], counted=True), indent='  '))
    if api['forced_down']:
        lines.append('%s: %s records forced down (not counted):'
                     % (name, api['binary']))
        lines.extend(common.format_table(
            _host_columns(api, 'VERSION', 'LAST HEARTBEAT'),
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
    # A configured value no service would start with is an operator error:
    # one line on stderr after the report, as any other.
    errors = [api['error'] for api in report['apis'] if api['error']]
    if errors:
        message = errors[0]
        if len(errors) > 1:
            message += ' (and %d more invalid [upgrade_levels] values)' % (
                len(errors) - 1)
        common.fail(PROG, message)
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
            self._schema = (migration.schema_state(),
                            migration.head_version())
        return self._schema

    def fleet(self):
        """The service records, or None when there is no schema yet."""
        if not self._revisions()[0].usable:
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
        state, head = self._revisions()
        if state.kind == migration.NOVA:
            # Nova's schema is Nova's to migrate: read as it is.
            details = state.describe()
            return Result(Code.SUCCESS, details[0].upper() + details[1:] + '.')
        if state.kind == migration.FOREIGN:
            return Result(Code.FAILURE,
                          'Not usable: %s.' % state.describe())
        if state.kind == migration.LEGACY and state.revision == head:
            return Result(Code.WARNING,
                          'The schema is usable, but %s. Run: %s db sync'
                          % (state.describe(), self._manage()))
        if state.revision == head:
            return Result(Code.SUCCESS)
        return Result(Code.FAILURE,
                      'The database schema is at revision %s; this code '
                      'needs %s. Run: %s db sync'
                      % (state.revision or 'none (never synced)', head,
                         self._manage()))

    def _check_old_computes(self):
        fleet = self.fleet()
        if fleet is None:
            return self._not_checked()
        history = fleet.history
        oldest = history.oldest_supported_version
        too_old = [r for r in fleet.of('nova-compute')
                   if r.counted and r.effective_version < oldest]
        if not too_old:
            return Result(Code.SUCCESS)
        terms = guards.too_old_terms(
            history, min(r.effective_version for r in too_old), self.conf)
        return Result(
            Code.FAILURE,
            'Current %(product)s version does not support computes older '
            'than %(oldest_release)s but the minimum compute service level '
            'in your %(scope)s is %(minimum)d and the oldest supported '
            'service level is %(oldest)d.' % terms
            + ' These are older: %s. A conductor of this release refuses '
            'to start next to them. Upgrade them, or if they are gone run: '
            '%s.'
            % (', '.join('%s (version %s)' % (_record_label(r),
                                              guards.describe_version(
                                                  history, r.version))
                         for r in too_old),
               self._delete_hint(too_old)))

    def _check_history(self):
        fleet = self.fleet()
        if fleet is None:
            return self._not_checked()
        newer = fleet.newer_than_history()
        if not newer:
            # Which history answered, as the pins report says it.
            return Result(Code.SUCCESS,
                          'History %s: service versions up to %s.'
                          % (fleet.history.describe_source(),
                             fleet.history.describe(fleet.service_version)))
        return Result(
            Code.WARNING,
            'Service records newer than the newest service version the '
            'history %s knows (%d): %s. This check is older than the fleet '
            'and cannot tell what those services accept: run it from the '
            'newest release installed.'
            % (fleet.history.describe_source(), fleet.service_version,
               ', '.join('%s on %s (version %d)' % (r.binary, r.host,
                                                    r.version)
                         for r in newer)))

    def _manage(self):
        return cli.manage_command(self.conf)

    def _delete_hint(self, gone):
        """How to remove the records ``gone``, for this database.

        One command per record, naming its host and binary.
        """
        targets = ['%s %s' % (cli.shell_word(r.host),
                              cli.shell_word(r.binary))
                   for r in gone]
        if self._revisions()[0].kind == migration.NOVA:
            # Nova's own delete also removes compute nodes, the resource
            # provider and the host mapping.
            return '; '.join(
                '%s (or %s service force-down %s)'
                % (cli.nova_delete_command(r.host, r.binary), self._manage(),
                   target) for r, target in zip(gone, targets))
        return '%s (or service force-down)' % '; '.join(
            '%s service delete %s' % (self._manage(), target)
            for target in targets)

    def _check_stale(self):
        fleet = self.fleet()
        if fleet is None:
            return self._not_checked()
        problems = []
        holders = []
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
            holders.extend(stale)
            problems.append(
                '%s records with no heartbeat for more than %d s hold the '
                '%s RPC version cap of auto at %s instead of %s: %s.'
                % (binary, fleet.stale_after, api, held.cap, free.cap,
                   ', '.join('%s (version %s, last heartbeat %s)'
                             % (_record_label(r),
                                fleet.history.describe(r.version),
                                pinreport.format_time(r.last_heartbeat))
                             for r in stale)))
        if not problems:
            return Result(Code.SUCCESS)
        return Result(
            Code.WARNING,
            ' '.join(problems) + ' If these services are gone, run: '
            '%s, or set [versioning]/stale_service_timeout%s on the '
            'conductors.'
            % (self._delete_hint(holders), _in_config(self.conf)))

    def _check_pins(self):
        fleet = self.fleet()
        if fleet is None:
            return self._not_checked()
        failures = []
        warnings = []
        for api in fleet.apis():
            try:
                decision = fleet.decision(api)
            except pinreport.RESOLUTION_ERRORS as exc:
                failures.append(str(exc))
                continue
            if decision.warning:
                warnings.append(decision.warning)
            if decision.source == pinning.SOURCE_UNDESCRIBED:
                continue
            try:
                auto = fleet.auto_decision(api)
            except pinreport.RESOLUTION_ERRORS:
                # Receivers newer than the history: see that check.
                continue
            warning = _pin_against_receivers(fleet, api, decision, auto)
            if warning:
                warnings.append(warning)
        if failures:
            return Result(Code.FAILURE, ' '.join(failures + warnings))
        if warnings:
            return Result(Code.WARNING, ' '.join(warnings))
        return Result(Code.SUCCESS)

    def _check_config(self):
        """Names in the configuration files that are silently ignored.

        [upgrade_levels] keys that name no RPC API, and sections that look
        like a misspelled [upgrade_levels].
        """
        group = self.conf.upgrade_levels
        known = sorted(group.keys())
        problems = []
        for path in _config_files(self.conf):
            for section, keys in _read_sections(path).items():
                if section == 'upgrade_levels':
                    for key in keys:
                        if key not in known:
                            problems.append(
                                '[upgrade_levels]/%s in %s names no RPC '
                                'API (known: %s): it is ignored.'
                                % (key, path, ', '.join(known)))
                elif (section.lower().replace('-', '_')
                      .replace(' ', '_') == 'upgrade_levels'
                      or difflib.get_close_matches(
                          section.lower(), ['upgrade_levels'], n=1,
                          cutoff=0.8)):
                    problems.append(
                        'Section [%s] in %s is not [upgrade_levels]: its '
                        'values (%s) are ignored.'
                        % (section, path, ', '.join(keys) or 'none'))
        if not problems:
            return Result(Code.SUCCESS)
        return Result(Code.WARNING, ' '.join(problems) + ' Fix the names.')

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
        # The records a command can name: a host, and a binary the
        # service commands accept.
        named = [record for record, _problem in odd
                 if record.host and record.host.isprintable() and
                 isinstance(record.binary, str) and
                 service_obj.BINARY_RE.fullmatch(record.binary)]
        advice = ('Delete the records of services that are gone (%s); '
                  'restart the others so that they record themselves '
                  'again.' % self._delete_hint(named) if named else
                  'Restart their services so that they record themselves '
                  'again.')
        if len(named) < len(odd):
            advice += (' The records no command can name (no host, a host '
                       'with control characters or an odd binary) are '
                       'corrected or removed in the database.')
        return Result(
            Code.FAILURE if holding else Code.WARNING,
            'Service records no service writes as such: %s. %s'
            % ('; '.join('%s on host %s: %s'
                         % (records.printable(record.binary),
                            records.printable(record.host), problem)
                         for record, problem in odd), advice))

    _upgrade_checks = (
        ('Database schema', _check_schema),
        ('Computes older than the oldest supported release',
         _check_old_computes),
        ('Service versions known to the history', _check_history),
        ('Stale service records', _check_stale),
        ('RPC version pins', _check_pins),
        ('Odd service records', _check_odd_records),
        ('[upgrade_levels] configuration', _check_config),
    )

    def results(self):
        """[(check name, Result)] without printing anything."""
        return [(name, func(self)) for name, func in self._upgrade_checks]


def _in_config(conf, group=None, name=None):
    """" in FILE": where [group]/name is set, else the last file read.

    '' when the command read no configuration file.
    """
    where = None
    if group is not None:
        where = values.raw_value(conf, group, name)[1]
    if where is None:
        files = _config_files(conf)
        where = files[-1] if files else None
    return ' in %s' % where if where else ''


def _record_label(record):
    """"host", or "host in cell C" when the records span every cell."""
    host = records.printable(record.host)
    if record.cell:
        return '%s in cell %s' % (host, record.cell)
    return host


def _version(text):
    return nv_history.parse_rpc_version(text)


def _held_by(fleet, auto):
    return '%s version %s: %s' % (
        auto.binary, fleet.history.describe(auto.minimum_version),
        pinreport.hosts_text(auto.hosts, limit=3) or 'none')


def _pin_against_receivers(fleet, api, decision, auto):
    """A warning when a configured cap does not fit its receivers, or None.

    Unset or newer than auto: messages will be rejected; older: a
    leftover pin.
    """
    option = '[upgrade_levels]/%s' % api
    if auto.minimum_version == 0:
        return None
    # The file to edit: the one that sets it, else the one read last.
    where = _in_config(fleet.conf, 'upgrade_levels', api)
    if decision.source == pinning.SOURCE_LATEST:
        if _version(decision.cap) <= _version(auto.cap):
            return None
        return ('%s is unset: %s RPC messages go out at up to %s, but the '
                'oldest %s accepts only %s (minimum %s): messages it cannot '
                'read will be rejected. Set %s = auto (or %s)%s and send '
                'SIGHUP to the services.'
                % (option, api, decision.cap, auto.binary, auto.cap,
                   _held_by(fleet, auto), option, auto.cap, where))
    if decision.source not in (pinning.SOURCE_EXPLICIT,
                               pinning.SOURCE_ALIAS):
        return None
    if _version(decision.cap) > _version(auto.cap):
        return ('%s = %s caps the %s RPC version at %s, newer than the %s '
                'the oldest %s accepts (minimum %s): messages it cannot '
                'read will be rejected. Set it to auto (or %s)%s and send '
                'SIGHUP to the services.'
                % (option, decision.configured, api, decision.cap, auto.cap,
                   auto.binary, _held_by(fleet, auto), auto.cap, where))
    if _version(decision.cap) < _version(auto.cap):
        return ('%s = %s caps the %s RPC version at %s, but auto would '
                'choose %s now (minimum %s version %s). A leftover from an '
                'upgrade? Set it to auto or remove it%s, then send SIGHUP '
                'to the services.'
                % (option, decision.configured, api, decision.cap,
                   auto.cap, auto.binary,
                   fleet.history.describe(auto.minimum_version), where))
    return None


def _config_files(conf):
    """The configuration files the command read, in order."""
    files = list(getattr(conf, 'config_file', None) or [])
    for directory in getattr(conf, 'config_dir', None) or []:
        files.extend(sorted(glob.glob(os.path.join(directory, '*.conf'))))
    return files


def _read_sections(path):
    """{section: [keys]} of an ini file, as written (no defaults)."""
    parser = configparser.RawConfigParser(strict=False,
                                          default_section='\0none')
    parser.optionxform = str
    try:
        with open(path, encoding='utf-8') as source:
            parser.read_file(source, path)
    except (OSError, UnicodeDecodeError, configparser.Error):
        # oslo.config read it already; what it could not parse it said.
        return {}
    return {section: list(parser[section]) for section in
            parser.sections()}


def upgrade_check_command():
    # UpgradeCommands.check() reads CONF.command.json from its module.
    as_json = CONF.command.json or CONF.command.output_format == 'json'
    upgradecheck.CONF = types.SimpleNamespace(
        command=types.SimpleNamespace(json=as_json))
    try:
        common.check_connection_url()
        cli.require_database(CONF)
        return int(UpgradeChecks().check())
    except Exception as exc:
        message = common.describe_error(common.schema_error(exc))
        if message is None:
            raise
        common.fail(PROG, message, code=CHECK_ERROR)


def main(argv=None):
    parsers.parse_script('status', argv)
    return run_parsed()


def run_parsed():
    """The command, once its command line is parsed (parsers)."""
    objects.register_all()
    common.setup(PROG, one_shot=True)
    common.bound_database_operations()
    if CONF.command.name == 'pins':
        return common.run(PROG, pins_command)
    return upgrade_check_command()
