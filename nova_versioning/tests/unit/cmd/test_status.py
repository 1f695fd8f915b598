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
"""nova-versioning-status and nova-versioning-manage service, on a fleet.

``StatusDBTestsMixin`` (in process) and ``StatusCLITestsMixin`` (the real
console scripts) run here on SQLite and in
``nova_versioning.tests.functional.test_status_db`` on MariaDB and
PostgreSQL, on the same mixed fleet:

=========  ==============  =======  ===================================
host       binary          version  state
=========  ==============  =======  ===================================
c-down     nova-compute    3        forced down, fresh heartbeat
c-gone     nova-compute    3        deleted
c-stale    nova-compute    5        heartbeat two hours old
c-old      nova-compute    6        fresh
c-new1/2   nova-compute    7        fresh
ctl-stale  nova-conductor  6        heartbeat two hours old
ctl1       nova-conductor  7        fresh
=========  ==============  =======  ===================================

with ``[upgrade_levels] compute = auto, conductor = 3.1`` and scheduler
unset. The expected reports are written out by hand.
"""

import datetime
import io
import json
import os
import subprocess
import sys

import fixtures
from oslo_upgradecheck import upgradecheck

from nova_versioning.cmd import manage
from nova_versioning.cmd import status
from nova_versioning.db import migration
from nova_versioning import exception
from nova_versioning import fixtures as nv_fixtures
from nova_versioning.histories import nova as nova_history
from nova_versioning import objects
from nova_versioning import pinreport
from nova_versioning.tests import base
from nova_versioning.tests.unit.objects import test_stale_policy

C = 'nova-compute'
D = 'nova-conductor'
BIN_DIR = os.path.dirname(sys.executable)

Code = upgradecheck.Code

# [DEFAULT]/report_interval of the console scripts' configuration.
CLI_REPORT_INTERVAL = 3600

HISTORY_DETAILS = ('History default (built in): service versions up to 7 '
                   '(queens).')


def hb(when):
    return when.strftime('%Y-%m-%dT%H:%M:%SZ')


class FleetMixin(object):
    """Builds the mixed fleet of the module doc in the test database."""

    # Records look stale after six missed heartbeats: 60 s at the default
    # [DEFAULT]/report_interval of 10 s.
    STALE_AFTER = 60

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(180, gentle=True))
        self.now = test_stale_policy.now_seconds()
        self.fresh = self.now - datetime.timedelta(seconds=5)
        self.old = self.now - datetime.timedelta(days=2)
        self.FRESH = hb(self.fresh)
        self.OLD = hb(self.old)
        self.flags(compute='auto', conductor='3.1', group='upgrade_levels')
        # Oldest first: guard 1 refuses an older record after newer ones.
        self._create('c-down', C, 'newton', forced_down=True)
        self._create('c-gone', C, 'newton').destroy()
        self._create('c-stale', C, 'ocata', heartbeat=self.old)
        self._create('c-old', C, 'pike')
        self._create('c-new1', C)
        self._create('c-new2', C)
        self._create('ctl-stale', D, 'pike', heartbeat=self.old)
        self._create('ctl1', D)

    def _create(self, host, binary, release=None, heartbeat=None, **kw):
        svc = objects.Service(self.context, host=host, binary=binary,
                              topic=binary[5:], **kw)
        if release is None:
            svc.create()
        else:
            with nv_fixtures.OlderRelease(release):
                svc.create()
        if not svc.deleted:
            test_stale_policy.set_times(self.db.engine, host, binary,
                                        last_seen_up=heartbeat or self.fresh)
        return svc

    def _host(self, host, version, release, heartbeat, **extra):
        entry = {'host': host, 'version': version, 'release': release,
                 'last_heartbeat': heartbeat}
        entry.update(extra)
        return entry

    def expected_report(self):
        """The pins report of the fleet, policy off, no what-if."""
        return {
            'service_version': 7,
            'release': 'queens',
            'history': 'default',
            'history_source': 'built in',
            'undescribed_apis': [],
            'newer_than_history': [],
            'stale_service_timeout': 0,
            'stale_after': self.STALE_AFTER,
            'what_if': {'upgraded': [], 'removed': []},
            'apis': [
                {'api': 'compute',
                 'binary': 'nova-compute',
                 'configured': 'auto',
                 'cap': '6.3',
                 'source': 'auto',
                 'auto_cap': '6.3',
                 'latest_cap': '6.5',
                 'error': None,
                 'auto_error': None,
                 'warning': None,
                 'described': True,
                 'minimum_version': 5,
                 'minimum_release': 'ocata',
                 'at_minimum': [
                     self._host('c-stale', 5, 'ocata', self.OLD)],
                 'stale': [
                     self._host('c-stale', 5, 'ocata', self.OLD,
                                counted=True)],
                 'forced_down': [
                     self._host('c-down', 3, 'newton', self.FRESH)]},
                {'api': 'conductor',
                 'binary': 'nova-conductor',
                 'configured': '3.1',
                 'cap': '3.1',
                 'source': 'explicit',
                 'auto_cap': '3.2',
                 'latest_cap': '3.2',
                 'error': None,
                 'auto_error': None,
                 'warning': None,
                 'described': True,
                 'minimum_version': 6,
                 'minimum_release': 'pike',
                 'at_minimum': [
                     self._host('ctl-stale', 6, 'pike', self.OLD)],
                 'stale': [
                     self._host('ctl-stale', 6, 'pike', self.OLD,
                                counted=True)],
                 'forced_down': []},
                {'api': 'scheduler',
                 'binary': 'nova-scheduler',
                 'configured': None,
                 'cap': '2.2',
                 'source': 'latest',
                 'auto_cap': '2.2',
                 'latest_cap': '2.2',
                 'error': None,
                 'auto_error': None,
                 'warning': None,
                 'described': True,
                 'minimum_version': 0,
                 'minimum_release': None,
                 'at_minimum': [],
                 'stale': [],
                 'forced_down': []},
            ],
            'odd_records': [],
        }

    def stale_details(self, manage='nova-versioning-manage', conf=None):
        # The advice names the real configuration, host and binary.
        return ('nova-compute records with no heartbeat for more than %d s '
                % self.STALE_AFTER +
                'hold the compute RPC version cap of auto at 6.3 instead of '
                '6.4: c-stale (version 5 (ocata), last heartbeat %s). If '
                'these services are gone, run: %s service delete '
                'c-stale nova-compute (or service force-down), or set '
                '[versioning]/stale_service_timeout%s on the conductors.'
                % (self.OLD, manage, ' in %s' % conf if conf else ''))

    @staticmethod
    def pins_details(conf=None):
        # The file to edit, when the command read one.
        return ('[upgrade_levels]/conductor = 3.1 caps the conductor RPC '
                'version at 3.1, but auto would choose 3.2 now (minimum '
                'nova-conductor version 6 (pike)). A leftover from an '
                'upgrade? Set it to auto or remove it%s, then send SIGHUP '
                'to the services.' % (' in %s' % conf if conf else ''))


class StatusDBTestsMixin(FleetMixin):
    """The report, what-if, upgrade checks and service commands."""

    def _report(self, **kw):
        return status.pins_report(self.context, now=self.now, **kw)

    def _rows(self):
        return sorted((s.host, s.binary, s.version, s.forced_down, s.deleted)
                      for s in objects.Service.get_all(
                          self.context, include_deleted=True))

    # -- pins ----------------------------------------------------------

    def test_pins_report(self):
        self.assertEqual(self.expected_report(), self._report())
        # The report counts as the services' own queries do.
        self.assertEqual({C: 5, D: 6, 'nova-scheduler': 0},
                         objects.Service.get_minimum_versions(
                             self.context, [C, D, 'nova-scheduler']))

    def test_pins_report_with_the_stale_policy(self):
        self.flags(stale_service_timeout=600, group='versioning')
        expected = self.expected_report()
        expected.update(stale_service_timeout=600, stale_after=600)
        compute, conductor, _scheduler = expected['apis']
        compute.update(
            cap='6.4', auto_cap='6.4', minimum_version=6,
            minimum_release='pike',
            at_minimum=[self._host('c-old', 6, 'pike', self.FRESH)],
            stale=[self._host('c-stale', 5, 'ocata', self.OLD,
                              counted=False)])
        conductor.update(
            auto_cap='3.2', minimum_version=7, minimum_release='queens',
            at_minimum=[self._host('ctl1', 7, 'queens', self.FRESH)],
            stale=[self._host('ctl-stale', 6, 'pike', self.OLD,
                              counted=False)])
        self.assertEqual(expected, self._report())
        self.assertEqual({C: 6, D: 7}, objects.Service.get_minimum_versions(
            self.context, [C, D]))

    def test_what_if_upgraded_keeps_the_stale_minimum(self):
        before = self._rows()
        report = self._report(upgraded=['c-old'])
        expected = self.expected_report()
        expected['what_if'] = {'upgraded': ['c-old'], 'removed': []}
        self.assertEqual(expected, report)
        self.assertEqual(before, self._rows())

    def test_what_if_removed_and_upgraded(self):
        before = self._rows()
        report = self._report(upgraded=['c-old'],
                              removed=['c-stale', 'ctl-stale'])
        expected = self.expected_report()
        expected['what_if'] = {'upgraded': ['c-old'],
                               'removed': ['c-stale', 'ctl-stale']}
        now = hb(self.now)
        compute, conductor, _scheduler = expected['apis']
        compute.update(
            cap='6.5', auto_cap='6.5', minimum_version=7,
            minimum_release='queens',
            at_minimum=[self._host('c-new1', 7, 'queens', self.FRESH),
                        self._host('c-new2', 7, 'queens', self.FRESH),
                        self._host('c-old', 7, 'queens', now)],
            stale=[])
        conductor.update(
            minimum_version=7, minimum_release='queens',
            at_minimum=[self._host('ctl1', 7, 'queens', self.FRESH)],
            stale=[])
        self.assertEqual(expected, report)
        self.assertEqual(before, self._rows())

    def test_what_if_removed_only(self):
        report = self._report(removed=['c-stale'])
        compute = report['apis'][0]
        self.assertEqual(
            ('6.4', 6, [self._host('c-old', 6, 'pike', self.FRESH)], []),
            (compute['auto_cap'], compute['minimum_version'],
             compute['at_minimum'], compute['stale']))

    def test_what_if_unknown_host(self):
        error = self.assertRaises(exception.InvalidWhatIf, self._report,
                                  upgraded=['c-old', 'nope', 'c-gone'])
        self.assertEqual(
            'Invalid what-if: --assume-upgraded names hosts without any '
            'live service record: c-gone, nope (hosts recorded: c-down, '
            'c-new1, c-new2, c-old, c-stale, ctl-stale, ctl1).', str(error))

    def test_what_if_host_upgraded_and_removed(self):
        error = self.assertRaises(exception.InvalidWhatIf, self._report,
                                  upgraded=['c-old'], removed=['c-old'])
        self.assertEqual('Invalid what-if: hosts given to both '
                         '--assume-upgraded and --assume-removed: c-old.',
                         str(error))

    def test_pins_report_invalid_value(self):
        self.flags(scheduler='banana', group='upgrade_levels')
        scheduler = self._report()['apis'][2]
        self.assertEqual((None, None, '2.2'), (
            scheduler['cap'], scheduler['source'], scheduler['auto_cap']))
        self.assertEqual(
            "Invalid value 'banana' for option [upgrade_levels]/scheduler: "
            "expected 'auto', a version from 2.1 to 2.2 or a release name "
            "(ocata, pike, queens)", scheduler['error'])

    def test_pins_report_by_code_older_than_the_receivers(self):
        # The tool runs ocata code; the counted computes are pike and newer
        # (c-stale, the last ocata one, forced down), the conductors too.
        stale = objects.Service.get_by_host_and_binary(
            self.context, 'c-stale', C)
        stale.forced_down = True
        stale.save()
        self.flags(conductor='auto', group='upgrade_levels')
        with nv_fixtures.OlderRelease('ocata'):
            compute, conductor, scheduler = self._report()['apis']
        # Computes are upgraded after the controllers: this code was left
        # behind, and the report says so instead of failing.
        self.assertEqual((None, None, None), (
            compute['cap'], compute['source'], compute['auto_cap']))
        self.assertIn('older than the nova-compute services it sends '
                      'compute RPC messages to: their minimum service '
                      'version is 6, newer than 5 (ocata)', compute['error'])
        self.assertIn('Upgrade this service', compute['error'])
        self.assertEqual(6, compute['minimum_version'])
        # Conductors are upgraded first: newer ones read this code's latest.
        self.assertEqual((None, '3.1', 'auto', '3.1'), (
            conductor['error'], conductor['cap'], conductor['source'],
            conductor['auto_cap']))
        self.assertEqual((None, '2.1'), (scheduler['error'],
                                         scheduler['cap']))

    # -- upgrade check -------------------------------------------------

    def _check(self):
        checks = status.UpgradeChecks(self.context, now=self.now)
        return [(name, result.code, result.details)
                for name, result in checks.results()]

    def test_upgrade_check_warnings(self):
        self.assertEqual([
            ('Database schema', Code.SUCCESS, None),
            ('Computes older than the oldest supported release',
             Code.SUCCESS, None),
            ('Service versions known to the history', Code.SUCCESS,
             HISTORY_DETAILS),
            ('Stale service records', Code.WARNING, self.stale_details()),
            ('RPC version pins', Code.WARNING, self.pins_details()),
            ('Odd service records', Code.SUCCESS, None),
            ('[upgrade_levels] configuration', Code.SUCCESS, None),
        ], self._check())
        out = self.useFixture(fixtures.MonkeyPatch('sys.stdout',
                                                   io.StringIO())).new_value
        checks = status.UpgradeChecks(self.context, now=self.now)
        self.assertEqual(Code.WARNING, checks.check())
        self.assertIn('Check: Stale service records', out.getvalue())

    def test_upgrade_check_too_old_compute_back(self):
        # The forced-down newton compute is put back into the count.
        manage.ServiceCommands.force_down_record(self.context, 'c-down', C,
                                                 down=False)
        results = dict((name, (code, details))
                       for name, code, details in self._check())
        self.assertEqual(
            (Code.FAILURE,
             'Current sample service version does not support computes '
             'older than Ocata but the minimum compute service level in '
             'your cell is 3 and the oldest supported service level is 4. '
             'These are older: c-down (version 3 (newton)). A conductor of '
             'this release refuses to start next to them. Upgrade them, or '
             'if they are gone run: nova-versioning-manage service delete '
             'c-down nova-compute (or service force-down).'),
            results['Computes older than the oldest supported release'])
        # c-down (fresh, newton) now holds the compute pin, not c-stale.
        self.assertEqual(Code.SUCCESS, results['Stale service records'][0])
        self.assertEqual(Code.FAILURE, max(code for code, _d in
                                           results.values()))

    def test_upgrade_check_names_every_too_old_compute(self):
        manage.ServiceCommands.force_down_record(self.context, 'c-down', C,
                                                 down=False)
        self._create('c-down2', C, 'newton')
        results = dict((name, (code, details))
                       for name, code, details in self._check())
        code, details = results[
            'Computes older than the oldest supported release']
        self.assertEqual(Code.FAILURE, code)
        # One command per record, each with its own host and binary.
        self.assertIn(
            'These are older: c-down (version 3 (newton)), c-down2 (version '
            '3 (newton)). A conductor of this release refuses to start next '
            'to them. Upgrade them, or if they are gone run: '
            'nova-versioning-manage service delete c-down nova-compute; '
            'nova-versioning-manage service delete c-down2 nova-compute (or '
            'service force-down).', details)

    def test_upgrade_check_names_every_stale_record(self):
        self._create('c-stale2', C, 'ocata', heartbeat=self.old)
        results = dict((name, (code, details))
                       for name, code, details in self._check())
        code, details = results['Stale service records']
        self.assertEqual(Code.WARNING, code)
        self.assertIn(
            'If these services are gone, run: nova-versioning-manage '
            'service delete c-stale nova-compute; nova-versioning-manage '
            'service delete c-stale2 nova-compute (or service force-down)',
            details)

    def test_delete_advice_on_a_nova_database(self):
        checks = status.UpgradeChecks(self.context, now=self.now)
        state = migration.SchemaState(kind=migration.NOVA, revision=None)
        self.useFixture(fixtures.MockPatchObject(
            checks, '_revisions', return_value=(state, None)))
        gone = [pinreport.Record('c-1', C, 5, False, False, None, True,
                                 True),
                pinreport.Record("it's", C, 5, False, False, None, True,
                                 True)]
        self.assertEqual(
            'openstack compute service delete $(openstack compute service '
            'list --host c-1 --service nova-compute -f value -c ID) (or '
            'nova-versioning-manage service force-down c-1 nova-compute); '
            'openstack compute service delete $(openstack compute service '
            'list --host \'it\'"\'"\'s\' --service nova-compute -f value '
            '-c ID) (or nova-versioning-manage service force-down '
            '\'it\'"\'"\'s\' nova-compute)', checks._delete_hint(gone))

    def test_upgrade_check_clean_after_acting(self):
        # What the report suggests: the stale records go, the leftover pin
        # is set back to auto.
        manage.ServiceCommands.delete_record(self.context, 'c-stale', C)
        manage.ServiceCommands.force_down_record(self.context, 'ctl-stale',
                                                 D)
        self.flags(conductor='auto', group='upgrade_levels')
        self.assertEqual([
            ('Database schema', Code.SUCCESS, None),
            ('Computes older than the oldest supported release',
             Code.SUCCESS, None),
            ('Service versions known to the history', Code.SUCCESS,
             HISTORY_DETAILS),
            ('Stale service records', Code.SUCCESS, None),
            ('RPC version pins', Code.SUCCESS, None),
            ('Odd service records', Code.SUCCESS, None),
            ('[upgrade_levels] configuration', Code.SUCCESS, None),
        ], self._check())

    def test_upgrade_check_stale_policy_lifts_the_warning(self):
        self.flags(stale_service_timeout=600, group='versioning')
        results = dict((name, code) for name, code, _d in self._check())
        self.assertEqual(Code.SUCCESS, results['Stale service records'])

    def test_upgrade_check_invalid_pin_fails(self):
        self.flags(scheduler='9.9', group='upgrade_levels')
        results = dict((name, (code, details))
                       for name, code, details in self._check())
        self.assertEqual(
            (Code.FAILURE,
             "Invalid value '9.9' for option [upgrade_levels]/scheduler: "
             "expected 'auto', a version from 2.1 to 2.2 or a release name "
             "(ocata, pike, queens); major version 9 is not the current "
             "scheduler RPC major version 2 " + self.pins_details()),
            results['RPC version pins'])

    def test_upgrade_check_schema_behind(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova_versioning.db.migration.head_version', lambda: '0002'))
        self.assertEqual(
            ('Database schema', Code.FAILURE,
             'The database schema is at revision 0001; this code needs '
             '0002. Run: nova-versioning-manage db sync'),
            self._check()[0])

    def test_upgrade_check_schema_missing(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova_versioning.db.migration.schema_state',
            lambda: migration.SchemaState(migration.EMPTY)))
        not_checked = ('Not checked: the services table does not exist '
                       'yet (see the database schema check).')
        self.assertEqual([
            ('Database schema', Code.FAILURE,
             'The database schema is at revision none (never synced); this '
             'code needs %s. Run: nova-versioning-manage db sync'
             % migration.head_version()),
            ('Computes older than the oldest supported release',
             Code.WARNING, not_checked),
            ('Service versions known to the history', Code.WARNING,
             not_checked),
            ('Stale service records', Code.WARNING, not_checked),
            ('RPC version pins', Code.WARNING, not_checked),
            ('Odd service records', Code.WARNING, not_checked),
            ('[upgrade_levels] configuration', Code.SUCCESS, None),
        ], self._check())

    def test_upgrade_check_unset_pin_with_older_receivers(self):
        # Unset sends the latest version, which c-stale (5) cannot read.
        self.flags(compute=None, group='upgrade_levels')
        results = dict((name, (code, details))
                       for name, code, details in self._check())
        self.assertEqual(
            (Code.WARNING,
             '[upgrade_levels]/compute is unset: compute RPC messages go '
             'out at up to 6.5, but the oldest nova-compute accepts only '
             '6.3 (minimum nova-compute version 5 (ocata): c-stale): '
             'messages it cannot read will be rejected. Set '
             '[upgrade_levels]/compute = auto (or 6.3) and send SIGHUP to '
             'the services. ' + self.pins_details()),
            results['RPC version pins'])

    def test_upgrade_check_explicit_pin_newer_than_receivers(self):
        self.flags(compute='6.4', group='upgrade_levels')
        results = dict((name, (code, details))
                       for name, code, details in self._check())
        self.assertEqual(
            (Code.WARNING,
             '[upgrade_levels]/compute = 6.4 caps the compute RPC version at '
             '6.4, newer than the 6.3 the oldest nova-compute accepts '
             '(minimum nova-compute version 5 (ocata): c-stale): messages '
             'it cannot read will be rejected. Set it to auto (or 6.3) and '
             'send SIGHUP to the services. ' + self.pins_details()),
            results['RPC version pins'])
        # The same cap, once c-stale is gone, is what auto chooses.
        manage.ServiceCommands.delete_record(self.context, 'c-stale', C)
        results = dict((name, (code, details))
                       for name, code, details in self._check())
        self.assertEqual((Code.WARNING, self.pins_details()),
                         results['RPC version pins'])

    def test_failing_auto_does_not_hide_a_valid_explicit_pin(self):
        # The tool runs ocata code; counted computes are pike and newer:
        # auto cannot be decided, the explicit compute pin still can.
        manage.ServiceCommands.force_down_record(self.context, 'c-stale', C)
        self.flags(compute='6.3', group='upgrade_levels')
        with nv_fixtures.OlderRelease('ocata'):
            compute = self._report()['apis'][0]
        self.assertEqual((None, '6.3', 'explicit', None), (
            compute['error'], compute['cap'], compute['source'],
            compute['auto_cap']))
        self.assertIn('minimum service version is 6, newer than 5 (ocata)',
                      compute['auto_error'])

    def test_records_newer_than_the_history(self):
        with self.db.engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE services SET version = 9 WHERE host = 'c-new2'")
        report = self._report()
        self.assertEqual(
            [{'host': 'c-new2', 'binary': C, 'version': 9, 'release': None,
              'last_heartbeat': self.FRESH}], report['newer_than_history'])
        results = dict((name, (code, details))
                       for name, code, details in self._check())
        self.assertEqual(
            (Code.WARNING,
             'Service records newer than the newest service version the '
             'history default (built in) knows (7): nova-compute on c-new2 '
             '(version 9). This check is older than the fleet and cannot '
             'tell what those services accept: run it from the newest '
             'release installed.'),
            results['Service versions known to the history'])

    def test_assume_upgraded_uses_the_selected_history(self):
        self.flags(history_provider='nova', group='versioning')
        report = self._report(upgraded=['c-old'])
        self.assertEqual('nova', report['history'])
        newest = report['service_version']
        self.assertGreaterEqual(newest, 74)
        compute = report['apis'][0]
        upgraded = [h for h in compute['at_minimum'] if h['host'] == 'c-old']
        self.assertEqual([], upgraded)
        fleet = pinreport.Fleet.load(self.context, now=self.now).what_if(
            upgraded=['c-old'])
        self.assertEqual(
            [newest], [r.version for r in fleet.of(C) if r.host == 'c-old'])

    # -- service commands ----------------------------------------------

    def _listed(self, **kw):
        return manage.ServiceCommands.list_records(self.context, now=self.now,
                                                   **kw)

    def _service(self, host, binary, version, release, heartbeat,
                 forced_down=False, stale=False, counted=True):
        return {'host': host, 'binary': binary, 'version': version,
                'release': release, 'last_heartbeat': heartbeat,
                'forced_down': forced_down, 'disabled': False,
                'stale': stale, 'counted': counted}

    def test_service_list(self):
        self.assertEqual([
            self._service('c-down', C, 3, 'newton', self.FRESH,
                          forced_down=True, counted=False),
            self._service('c-new1', C, 7, 'queens', self.FRESH),
            self._service('c-new2', C, 7, 'queens', self.FRESH),
            self._service('c-old', C, 6, 'pike', self.FRESH),
            self._service('c-stale', C, 5, 'ocata', self.OLD, stale=True),
        ], self._listed(binary=C))
        self.flags(stale_service_timeout=600, group='versioning')
        self.assertEqual([
            self._service('ctl-stale', D, 6, 'pike', self.OLD, stale=True,
                          counted=False),
            self._service('ctl1', D, 7, 'queens', self.FRESH),
        ], self._listed(binary=D))
        self.assertEqual(7, len(self._listed()))

    def test_service_list_bad_binary(self):
        error = self.assertRaises(exception.InvalidBinary, self._listed,
                                  binary='compute')
        self.assertEqual('Invalid service binary \'compute\': binaries are '
                         'named "nova-<name>", for example "nova-compute".',
                         str(error))

    def test_service_delete(self):
        manage.ServiceCommands.delete_record(self.context, 'c-stale', C)
        self.assertIn(('c-stale', C, 5, False, True), self._rows())
        self.assertNotIn('c-stale', [r['host'] for r in self._listed()])
        self.assertEqual(6, objects.Service.get_minimum_version(
            self.context, C))
        # Deleted: it cannot be deleted or forced down again.
        for action in (manage.ServiceCommands.delete_record,
                       manage.ServiceCommands.force_down_record):
            error = self.assertRaises(exception.ServiceNotFound, action,
                                      self.context, 'c-stale', C)
            self.assertEqual('Service nova-compute on host c-stale (no live '
                             'record) could not be found.', str(error))

    def test_service_force_down_keeps_the_version(self):
        self.assertEqual(5, objects.Service.get_minimum_version(
            self.context, C))
        manage.ServiceCommands.force_down_record(self.context, 'c-stale', C)
        self.assertIn(('c-stale', C, 5, True, False), self._rows())
        self.assertEqual(6, objects.Service.get_minimum_version(
            self.context, C))
        manage.ServiceCommands.force_down_record(self.context, 'c-stale', C,
                                                 down=False)
        self.assertIn(('c-stale', C, 5, False, False), self._rows())
        self.assertEqual(5, objects.Service.get_minimum_version(
            self.context, C))

    def test_service_unknown_host_or_binary(self):
        for host, binary in (('nope', C), ('c-old', D),
                             ('c-old', 'nova-api')):
            self.assertRaises(exception.ServiceNotFound,
                              manage.ServiceCommands.force_down_record,
                              self.context, host, binary)
        self.assertRaises(exception.InvalidBinary,
                          manage.ServiceCommands.delete_record,
                          self.context, 'c-old', 'compute')


class CLIMixin(object):
    """Runs the real console scripts against the test database."""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _conf(self, text=None):
        if text is None:
            # A heartbeat interval long enough that the fleet's fresh
            # records never look stale, however long a loaded machine
            # takes to start the console script.
            text = ('[DEFAULT]\nstate_path = %s\nreport_interval = %d\n'
                    '[database]\nconnection = %s\n[upgrade_levels]\n'
                    'compute = auto\nconductor = 3.1\n'
                    % (self.tmp, CLI_REPORT_INTERVAL, self.db.url))
        path = os.path.join(self.tmp, 'nova_versioning.conf')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def _run(self, script, *args):
        proc = subprocess.run([os.path.join(BIN_DIR, script)] + list(args),
                              capture_output=True, text=True, timeout=120,
                              cwd=self.tmp)
        return proc.returncode, proc.stdout, proc.stderr

    def assertOneLineError(self, code, expected_code, err, prog, *texts):
        self.assertEqual(expected_code, code, err)
        self.assertNotIn('Traceback', err)
        # Every line counts: no warning, log line or usage block besides.
        lines = err.splitlines()
        self.assertEqual(1, len(lines), err)
        self.assertTrue(lines[0].startswith(prog), lines[0])
        for text in texts:
            self.assertIn(text, lines[0])


class StatusCLITestsMixin(FleetMixin, CLIMixin):
    """A few runs of the console scripts, on every backend."""

    STALE_AFTER = 6 * CLI_REPORT_INTERVAL

    def test_pins_json(self):
        code, out, err = self._run('nova-versioning-status', '--config-file',
                                   self._conf(), 'pins', '--format', 'json')
        self.assertEqual(0, code, err)
        self.assertEqual(self.expected_report(), json.loads(out))

    def test_pins_exits_1_on_an_invalid_pin(self):
        conf = self._conf() + '.bad'
        with open(self._conf()) as good, open(conf, 'w') as bad:
            bad.write(good.read() + 'scheduler = banana\n')
        code, out, err = self._run('nova-versioning-status', '--config-file',
                                   conf, 'pins')
        self.assertEqual(1, code, err)
        self.assertIn('scheduler  nova-scheduler  banana      invalid', out)
        self.assertIn("scheduler: Invalid value 'banana' for option "
                      "[upgrade_levels]/scheduler", out)
        code, out, err = self._run('nova-versioning-status', '--config-file',
                                   self._conf(), 'pins')
        self.assertEqual(0, code, err)

    def test_upgrade_check_names_what_it_ignores(self):
        conf = self._conf() + '.typos'
        with open(self._conf()) as good, open(conf, 'w') as typos:
            typos.write(good.read() + 'computes = 6.4\n'
                        '[upgrade_level]\ncompute = auto\n')
        code, out, err = self._run('nova-versioning-status', '--config-file',
                                   conf, 'upgrade', 'check', '--json')
        self.assertEqual(1, code, err)
        checks = {c['check']: c for c in json.loads(out)['checks']}
        self.assertEqual(
            {'check': '[upgrade_levels] configuration', 'result': 1,
             'details': '[upgrade_levels]/computes in %s names no RPC API '
                        '(known: compute, conductor, scheduler): it is '
                        'ignored. Section [upgrade_level] in %s is not '
                        '[upgrade_levels]: its values (compute) are '
                        'ignored. Fix the names.' % (conf, conf)},
            checks['[upgrade_levels] configuration'])

    def test_pins_with_the_nova_history(self):
        # Nova's rules on this project's records: 7 is far below Nova's
        # oldest supported 72, and the caps are Nova's compute versions.
        conf = self._conf() + '.nova'
        with open(self._conf()) as good, open(conf, 'w') as nova:
            nova.write(good.read().replace('conductor = 3.1\n', '')
                       + '[versioning]\nhistory_provider = nova\n')
        code, out, err = self._run('nova-versioning-status', '--config-file',
                                   conf, 'pins', '--format', 'json')
        self.assertEqual(0, code, err)
        report = json.loads(out)
        self.assertEqual('nova', report['history'])
        self.assertRegex(report['history_source'],
                         r'^(live Nova|snapshot of Nova) \d+\.\d+\.\d+$')
        self.assertEqual(['compute'], [a['api'] for a in report['apis']])
        self.assertEqual(['conductor', 'scheduler'],
                         report['undescribed_apis'])
        compute = report['apis'][0]
        # Service version 5 of Nova's history speaks compute RPC 4.7.
        self.assertEqual(('4.7', 'auto', 5, None),
                         (compute['cap'], compute['source'],
                          compute['minimum_version'], compute['error']))
        code, out, err = self._run('nova-versioning-status', '--config-file',
                                   conf, 'upgrade', 'check', '--json')
        self.assertEqual(2, code, err)
        checks = {c['check']: c for c in json.loads(out)['checks']}
        self.assertTrue(
            checks['Computes older than the oldest supported release'][
                'details'].startswith(
                'Current Nova version does not support computes older '
                'than Gazpacho but the minimum compute service level in '
                'your cell is 5 and the oldest supported service level is '
                '72.'), out)

    def test_empty_compute_pin_with_the_nova_history(self):
        # As in Nova, "[upgrade_levels] compute =" with no value is no pin:
        # the latest compute RPC version of Nova's history, the same
        # report and exit codes as the option left out.
        with open(self._conf()) as good:
            text = (good.read().replace('conductor = 3.1\n', '')
                    + '[versioning]\nhistory_provider = nova\n')
        conf = os.path.join(self.tmp, 'nova.conf')
        latest = nova_history.nova_history().latest_rpc_version('compute')
        results = {}
        for value in ('', None):
            with open(conf, 'w') as f:
                f.write(text.replace(
                    'compute = auto\n',
                    '' if value is None else 'compute =%s\n' % value))
            code, out, err = self._run('nova-versioning-status',
                                       '--config-file', conf, 'pins',
                                       '--format', 'json')
            self.assertEqual(0, code, err)
            report = json.loads(out)
            compute = report['apis'][0]
            self.assertEqual(('compute', latest, 'latest', value, None),
                             (compute['api'], compute['cap'],
                              compute['source'], compute['configured'],
                              compute['error']), out)
            code, out, err = self._run('nova-versioning-status',
                                       '--config-file', conf, 'upgrade',
                                       'check', '--json')
            # 2: the fleet's computes (5) are older than Nova's oldest
            # supported release; the pin itself fails nothing.
            self.assertEqual(2, code, err)
            checks = {c['check']: c for c in json.loads(out)['checks']}
            self.assertNotEqual(2, checks['RPC version pins']['result'],
                                out)
            compute['configured'] = '-'
            results[value] = (report, checks)
        # Only the value shown as configured differs.
        self.assertEqual(results[None], results[''])

    def test_upgrade_check_json(self):
        conf = self._conf()
        code, out, err = self._run('nova-versioning-status', '--config-file',
                                   conf, 'upgrade', 'check', '--json')
        self.assertEqual(1, code, err)
        self.assertEqual({
            'name': 'nova-versioning upgrade check results',
            'checks': [
                {'check': 'Database schema', 'result': 0, 'details': None},
                {'check': 'Computes older than the oldest supported release',
                 'result': 0, 'details': None},
                {'check': 'Service versions known to the history',
                 'result': 0, 'details': HISTORY_DETAILS},
                {'check': 'Stale service records', 'result': 1,
                 'details': self.stale_details(
                     'nova-versioning-manage --config-file %s' % conf,
                     conf)},
                {'check': 'RPC version pins', 'result': 1,
                 'details': self.pins_details(conf)},
                {'check': 'Odd service records', 'result': 0,
                 'details': None},
                {'check': '[upgrade_levels] configuration', 'result': 0,
                 'details': None},
            ]}, json.loads(out))

    def test_pins_table_what_if(self):
        code, out, err = self._run(
            'nova-versioning-status', '--config-file', self._conf(), 'pins',
            '--assume-removed', 'c-stale', '--assume-removed', 'ctl-stale',
            '--assume-upgraded', 'c-old')
        self.assertEqual(0, code, err)
        lines = out.splitlines()
        self.assertEqual(
            'What-if, nothing written: c-old upgraded to 7 (queens); '
            'c-stale, ctl-stale removed.', lines[2])
        self.assertEqual(
            ['API        RECEIVERS       CONFIGURED  CAP (SOURCE)    '
             'AUTO NOW  LATEST  MINIMUM     HELD BY',
             'compute    nova-compute    auto        6.5 (auto)      '
             '6.5       6.5     7 (queens)  -',
             'conductor  nova-conductor  3.1         3.1 (explicit)  '
             '3.2       3.2     7 (queens)  -',
             'scheduler  nova-scheduler  (unset)     2.2 (latest)    '
             '2.2       2.2     none        -'],
            [lines[4]] + lines[6:9])

    def test_unknown_what_if_host(self):
        code, out, err = self._run('nova-versioning-status', '--config-file',
                                   self._conf(), 'pins', '--assume-upgraded',
                                   'c-old,c-9')
        self.assertOneLineError(
            code, 1, err, 'nova-versioning-status: error: Invalid what-if: '
            '--assume-upgraded names hosts without any live service record: '
            'c-9 (hosts recorded: ')

    def test_manage_service_commands(self):
        conf = self._conf()
        code, out, err = self._run('nova-versioning-manage', '--config-file',
                                   conf, 'service', 'force-down', 'c-stale',
                                   C)
        # The answer on stdout, nothing else at the default log level.
        self.assertEqual((0, ''), (code, err))
        self.assertEqual('The nova-compute record of host c-stale is forced '
                         'down; it no longer counts toward the minimum '
                         'version.\n', out)
        code, out, err = self._run('nova-versioning-manage', '--config-file',
                                   conf, 'service', 'delete', 'ctl-stale', D)
        self.assertEqual((0, ''), (code, err))
        self.assertEqual('Deleted the nova-conductor record of host '
                         'ctl-stale; it no longer counts toward the minimum '
                         'version.\n', out)
        code, out, err = self._run('nova-versioning-manage', '--config-file',
                                   conf, 'service', 'list', '--format',
                                   'json', '--binary', D)
        self.assertEqual(0, code, err)
        self.assertEqual([{
            'host': 'ctl1', 'binary': D, 'version': 7, 'release': 'queens',
            'last_heartbeat': self.FRESH, 'forced_down': False,
            'disabled': False, 'stale': False, 'counted': True}],
            json.loads(out))
        self.assertEqual(
            [('c-stale', C, 5, True, False),
             ('ctl-stale', D, 6, False, True)],
            [row for row in sorted(
                (s.host, s.binary, s.version, s.forced_down, s.deleted)
                for s in objects.Service.get_all(self.context,
                                                 include_deleted=True))
             if row[0] in ('c-stale', 'ctl-stale')])

    def test_manage_bad_binary(self):
        code, out, err = self._run('nova-versioning-manage', '--config-file',
                                   self._conf(), 'service', 'list',
                                   '--binary', 'compute')
        self.assertOneLineError(
            code, 1, err, 'nova-versioning-manage: error: Invalid service '
            'binary \'compute\': binaries are named "nova-<name>"')

    def test_manage_unknown_host(self):
        code, out, err = self._run('nova-versioning-manage', '--config-file',
                                   self._conf(), 'service', 'delete', 'c-9',
                                   C)
        self.assertOneLineError(
            code, 1, err, 'nova-versioning-manage: error: Service '
            'nova-compute on host c-9 (no live record) could not be found.')

    def test_manage_db_sync_and_version(self):
        conf = self._conf()
        code, out, err = self._run('nova-versioning-manage', '--config-file',
                                   conf, 'db', 'sync')
        self.assertEqual((0, 'Database schema is at revision %s.\n'
                          % migration.head_version(), ''), (code, out, err))
        code, out, err = self._run('nova-versioning-manage', '--config-file',
                                   conf, 'db', 'version')
        head = migration.head_version()
        self.assertEqual((0, '%s (newest known: %s)\n' % (head, head), ''),
                         (code, out, err))
        # Synced again, the records are still there.
        self.assertEqual(8, len(objects.Service.get_all(
            self.context, include_deleted=True)))


class StatusSQLiteTestCase(StatusDBTestsMixin, base.DBTestCase):
    pass


class StatusCLISQLiteTestCase(StatusCLITestsMixin, base.DBTestCase):
    pass


class StatusArgumentsTestCase(CLIMixin, base.TestCase):
    """Bad arguments: one error line, a non-zero exit, no traceback."""

    def _status(self, *args, conf_text='[DEFAULT]\n'):
        return self._run('nova-versioning-status', '--config-file',
                         self._conf(conf_text), *args)

    def test_unknown_format(self):
        code, out, err = self._status('pins', '--format', 'xml')
        self.assertOneLineError(
            code, 2, err, 'nova-versioning-status pins: error: argument '
            '--format: invalid choice: \'xml\'')

    def test_empty_host_in_what_if(self):
        code, out, err = self._status('pins', '--assume-removed', 'a,,b')
        self.assertOneLineError(
            code, 2, err, 'nova-versioning-status pins: error: argument '
            '--assume-removed: invalid host list value: \'a,,b\'')

    def test_unknown_upgrade_action(self):
        code, out, err = self._status('upgrade', 'chek')
        self.assertOneLineError(
            code, 2, err, 'nova-versioning-status upgrade: error: argument '
            'ACTION: invalid choice: \'chek\'')

    def test_missing_config_file(self):
        code, out, err = self._run('nova-versioning-status', '--config-file',
                                   os.path.join(self.tmp, 'nope.conf'),
                                   'pins')
        self.assertOneLineError(
            code, 2, err, 'nova-versioning-status: error: Failed to find '
            'some config files: ', 'nope.conf')

    def test_malformed_database_url(self):
        conf_text = '[database]\nconnection = not a url\n'
        expected = ("error: Cannot use the database at [database]/connection "
                    "'not a url'", 'not a valid SQLAlchemy URL')
        code, out, err = self._status('pins', conf_text=conf_text)
        self.assertOneLineError(code, 1, err, 'nova-versioning-status: ',
                                *expected)
        code, out, err = self._status('upgrade', 'check',
                                      conf_text=conf_text)
        self.assertOneLineError(code, status.CHECK_ERROR, err,
                                'nova-versioning-status: ', *expected)
        self.assertEqual('', out)

    def test_manage_bad_binary_for_force_down(self):
        code, out, err = self._run('nova-versioning-manage', '--config-file',
                                   self._conf('[DEFAULT]\n'), 'service',
                                   'force-down', 'h1', 'Nova-Compute')
        self.assertOneLineError(
            code, 1, err, 'nova-versioning-manage: error: Invalid service '
            'binary \'Nova-Compute\': binaries are named "nova-<name>", for '
            'example "nova-compute".')


class PinsTableTestCase(base.TestCase):
    """The table of ``pins``, from records built in memory."""

    def _service(self, host, binary, version, heartbeat, forced_down=False):
        svc = objects.Service(host=host, binary=binary,
                              forced_down=forced_down, disabled=False,
                              last_seen_up=heartbeat)
        setattr(svc, '_obj_version', version)
        return svc

    def test_table(self):
        now = datetime.datetime(2026, 11, 1, 12, 0, 0)
        fresh = datetime.datetime(2026, 11, 1, 11, 59, 55)
        old = datetime.datetime(2026, 11, 1, 9, 0, 0)
        self.flags(compute='auto', scheduler='banana',
                   group='upgrade_levels')
        fleet = pinreport.Fleet([
            self._service('c1', C, 6, fresh),
            self._service('c2', C, 6, old),
            self._service('c3', C, 7, fresh),
            self._service('c4', C, 3, fresh, forced_down=True),
            self._service('ctl1', D, 7, fresh),
        ], now=now)
        self.assertEqual([
            'Service version of this code: 7 (queens); history default '
            '(built in).',
            'Stale records: no heartbeat for more than 60 s; they still '
            'count ([versioning]/stale_service_timeout is 0).',
            '',
            'API        RECEIVERS       CONFIGURED  CAP (SOURCE)  AUTO NOW  '
            'LATEST  MINIMUM     HELD BY',
            '---------  --------------  ----------  ------------  --------  '
            '------  ----------  -------',
            'compute    nova-compute    auto        6.4 (auto)    6.4       '
            '6.5     6 (pike)    c1, c2',
            'conductor  nova-conductor  (unset)     3.2 (latest)  3.2       '
            '3.2     7 (queens)  -',
            'scheduler  nova-scheduler  banana      invalid       2.2       '
            '2.2     none        -',
            '',
            'compute: nova-compute at the minimum version 6 (pike):',
            '  HOST  VERSION   LAST HEARTBEAT',
            '  ----  --------  --------------------',
            '  c1    6 (pike)  2026-11-01T11:59:55Z',
            '  c2    6 (pike)  2026-11-01T09:00:00Z',
            'compute: nova-compute records that look stale:',
            '  HOST  VERSION   LAST HEARTBEAT        COUNTED',
            '  ----  --------  --------------------  -------',
            '  c2    6 (pike)  2026-11-01T09:00:00Z  yes',
            'compute: nova-compute records forced down (not counted):',
            '  HOST  VERSION     LAST HEARTBEAT',
            '  ----  ----------  --------------------',
            '  c4    3 (newton)  2026-11-01T11:59:55Z',
            '',
            'conductor: nova-conductor at the minimum version 7 (queens):',
            '  HOST  VERSION     LAST HEARTBEAT',
            '  ----  ----------  --------------------',
            '  ctl1  7 (queens)  2026-11-01T11:59:55Z',
            '',
            "scheduler: Invalid value 'banana' for option "
            "[upgrade_levels]/scheduler: expected 'auto', a version from 2.1 "
            "to 2.2 or a release name (ocata, pike, queens)",
            'scheduler: no nova-scheduler counts toward the minimum version.',
        ], status.format_pins(fleet.report()))
