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
"""Rows no service writes, read by one rule everywhere.

``OddRowsTestsMixin`` inserts such rows with raw SQL (a NULL, zero or
negative version, a NULL forced_down, host or uuid, odd binaries, a host
name with a newline, a report_count at the 32-bit limit) and checks that
the conductor's ``auto`` pin, the pins report and the upgrade check
verdict agree. It runs here on SQLite and in
``nova_versioning.tests.functional.test_odd_rows_db`` on MariaDB and
PostgreSQL.
"""

import datetime
import json
import logging
import os
import subprocess

import fixtures
from oslo_upgradecheck import upgradecheck
from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from nova_versioning.cmd import status
from nova_versioning.compute import manager as compute_manager
from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning.conductor import manager as conductor_manager
from nova_versioning.db import models
from nova_versioning import exception
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import guards
from nova_versioning import objects
from nova_versioning import pinreport
from nova_versioning import records
from nova_versioning.rpc import pinning
from nova_versioning.scheduler import rpcapi as scheduler_rpcapi
from nova_versioning import service
from nova_versioning.tests import base
from nova_versioning.tests.unit.cmd import test_status
from nova_versioning.tests.unit.rpc import fakes

C = 'nova-compute'
S = 'nova-scheduler'
Code = upgradecheck.Code
ODD_CHECK = 'Odd service records'


class OddRowsTestsMixin(object):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(120, gentle=True))
        self.transport = self.useFixture(
            fakes.FakeTransport(self.conf)).transport
        self.flags(compute='auto', scheduler='auto', group='upgrade_levels')
        self.now = timeutils.utcnow().replace(microsecond=0)

    def insert(self, host, binary, version, **values):
        """One row written with raw SQL, as a hand-made row would be."""
        row = {'uuid': uuidutils.generate_uuid(), 'host': host,
               'binary': binary, 'topic': 'topic', 'report_count': 0,
               'disabled': False, 'forced_down': False, 'version': version,
               'deleted': 0, 'created_at': self.now,
               'last_seen_up': self.now}
        row.update(values)
        with self.db.engine.begin() as conn:
            conn.execute(models.Service.__table__.insert().values(**row))

    def count_rows(self):
        with self.db.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(
                models.Service.__table__)).scalar()

    def conductor_cap(self, api_cls):
        """The cap the conductor's client of api_cls resolves to."""
        objects.Service.clear_min_version_cache()
        return api_cls(self.transport, conf=self.conf).resolve(
            self.context, fresh=True)

    def report(self):
        return status.pins_report(self.context)

    def report_cap(self, report, api):
        return next(entry for entry in report['apis']
                    if entry['api'] == api)

    def checks(self):
        return dict(status.UpgradeChecks(self.context).results())

    def assert_agree(self, api_cls, cap, hosts=None):
        """Conductor pin == pins report == what upgrade check judges."""
        decision = self.conductor_cap(api_cls)
        self.assertEqual(cap, decision.cap)
        entry = self.report_cap(self.report(), api_cls.API_NAME)
        self.assertEqual(cap, entry['cap'])
        self.assertEqual(cap, entry['auto_cap'])
        if hosts is not None:
            self.assertEqual(sorted(hosts), sorted(decision.hosts))
            self.assertEqual(sorted(hosts),
                             sorted(h['host'] for h in entry['at_minimum']))
        return decision

    # -- unknown versions never lift a pin -------------------------------

    def _assert_unknown_holds_scheduler(self, version):
        self.insert('sched-a', S, 4)
        self.insert('sched-odd', S, version)
        # Without the odd row auto would give 2.1; with it the row counts
        # as the oldest version (1), never as "none recorded" (2.2).
        decision = self.assert_agree(scheduler_rpcapi.SchedulerAPI, '2.0',
                                     hosts=['sched-odd'])
        self.assertEqual(records.LOWEST_VERSION, decision.minimum_version)
        self.assertNotIn('recorded yet', pinning.audit_message(decision))
        self.assertEqual({S: 1}, objects.Service.get_minimum_versions(
            self.context, [S], fresh=True))
        check = self.checks()[ODD_CHECK]
        self.assertEqual(Code.FAILURE, check.code)
        self.assertIn('nova-scheduler on host sched-odd: its version %s is '
                      'unknown: it counts as version 1 and holds the auto '
                      'pins of nova-scheduler down' % (version or 0),
                      check.details)
        # The advice names the record itself, not a placeholder.
        self.assertIn('Delete the records of services that are gone '
                      '(nova-versioning-manage service delete sched-odd '
                      'nova-scheduler (or service force-down))',
                      check.details)
        self.assertNotIn('<', check.details)

    def test_version_zero_holds_the_pin(self):
        self._assert_unknown_holds_scheduler(0)

    def test_version_null_holds_the_pin(self):
        self._assert_unknown_holds_scheduler(None)

    def test_version_negative_holds_the_pin(self):
        self._assert_unknown_holds_scheduler(-3)

    def test_unknown_compute_version_refuses_guard_2_by_name(self):
        self.insert('cpu-new', C, 7)
        self.insert('cpu-odd', C, None)
        exc = self.assertRaises(exception.TooOldComputeService,
                                guards.check_oldest_supported_computes,
                                self.context, 'nova-conductor', self.conf)
        self.assertIn('cpu-odd (version unknown (0))', str(exc))
        self.assertNotIn('cpu-new', str(exc))
        checks = self.checks()
        self.assertEqual(
            Code.FAILURE,
            checks['Computes older than the oldest supported release'].code)
        self.assertIn('cpu-odd', checks[ODD_CHECK].details)
        self.assert_agree(compute_rpcapi.ComputeAPI, '6.0',
                          hosts=['cpu-odd'])

    def _upgrade_check_cli(self, *lines):
        """``upgrade check --json`` of the console script: (code, checks)."""
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'nova_versioning.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nstate_path = %s\nreport_interval = %d\n'
                    '[database]\nconnection = %s\n[upgrade_levels]\n'
                    'compute = auto\n%s\n'
                    % (tmp, test_status.CLI_REPORT_INTERVAL, self.db.url,
                       '\n'.join(lines)))
        proc = subprocess.run(
            [os.path.join(test_status.BIN_DIR, status.PROG),
             '--config-file', path, 'upgrade', 'check', '--json'],
            capture_output=True, text=True, timeout=120, cwd=tmp)
        self.assertEqual('', proc.stderr)
        return proc.returncode, {c['check']: c for c in
                                 json.loads(proc.stdout)['checks']}

    def _assert_ffu_unknown_compute_holds(self, version):
        # The fast-forward upgrade workaround lets a conductor start past
        # too-old computes; a compute of unknown version among good ones
        # still counts as the oldest: auto never takes the newest good
        # version, and the upgrade check fails naming the record.
        self.flags(disable_compute_service_check_for_ffu=True,
                   group='workarounds')
        self.insert('cpu-a', C, 7)
        self.insert('cpu-b', C, 6)
        self.insert('cpu-odd', C, version)
        too_old = guards.check_oldest_supported_computes(
            self.context, 'nova-conductor', self.conf)
        self.assertEqual(['cpu-odd'], [svc.host for svc in too_old])
        # The conductor starts past it, and its compute pin stays held.
        conductor = service.RPCService(
            'nova-conductor', 'conductor',
            conductor_manager.ConductorManager, host='cond1',
            conf=self.conf, control=True)
        conductor.prepare()
        self.assertEqual('6.0', conductor.pin_store.load()['compute'].cap)
        decision = self.assert_agree(compute_rpcapi.ComputeAPI, '6.0',
                                     hosts=['cpu-odd'])
        self.assertEqual(records.LOWEST_VERSION, decision.minimum_version)
        checks = self.checks()
        old = checks['Computes older than the oldest supported release']
        self.assertEqual(Code.FAILURE, old.code)
        self.assertIn('cpu-odd (version unknown (%s))' % (version or 0),
                      old.details)
        self.assertEqual(Code.FAILURE, checks[ODD_CHECK].code)
        self.assertIn('nova-compute on host cpu-odd: its version',
                      checks[ODD_CHECK].details)
        code, cli_checks = self._upgrade_check_cli(
            '[workarounds]', 'disable_compute_service_check_for_ffu = true')
        self.assertEqual(Code.FAILURE, code)
        self.assertIn(
            'cpu-odd (version unknown',
            cli_checks['Computes older than the oldest supported '
                       'release']['details'])
        self.assertIn('nova-compute on host cpu-odd',
                      cli_checks[ODD_CHECK]['details'])

    def test_ffu_workaround_version_zero_compute_holds(self):
        self._assert_ffu_unknown_compute_holds(0)

    def test_ffu_workaround_version_null_compute_holds(self):
        self._assert_ffu_unknown_compute_holds(None)

    def test_ffu_workaround_version_negative_compute_holds(self):
        self._assert_ffu_unknown_compute_holds(-1)

    def test_unknown_version_forced_down_does_not_count(self):
        self.insert('sched-a', S, 4)
        self.insert('sched-odd', S, 0, forced_down=True)
        self.assert_agree(scheduler_rpcapi.SchedulerAPI, '2.1',
                          hosts=['sched-a'])
        # Reported, but it holds nothing: a warning.
        self.assertEqual(Code.WARNING, self.checks()[ODD_CHECK].code)

    def test_guard_1_reads_unknown_as_lowest(self):
        # A registration is judged against the lowest version: an unknown
        # row never makes a newer minimum refuse a host.
        self.insert('sched-odd', S, None)
        with nv_fixtures.OlderRelease('liberty'):
            objects.Service(self.context, host='sched-1', binary=S,
                            topic='scheduler').create()

    # -- forced_down NULL ------------------------------------------------

    def test_forced_down_null_counts_everywhere(self):
        self.insert('cpu-a', C, 7)
        self.insert('cpu-b', C, 5, forced_down=None)
        self.assert_agree(compute_rpcapi.ComputeAPI, '6.3', hosts=['cpu-b'])
        svc = objects.Service.get_all(self.context, forced_down=False)
        self.assertEqual(['cpu-a', 'cpu-b'], [s.host for s in svc])
        self.assertEqual(Code.SUCCESS, self.checks()[ODD_CHECK].code)

    # -- binaries compared exactly ---------------------------------------

    def test_odd_binaries_count_nowhere_and_are_reported(self):
        self.insert('cpu-a', C, 7)
        self.insert('odd-1', 'NOVA-COMPUTE', 5)
        self.insert('odd-2', 'nova-compute ', 5)
        self.insert('odd-3', 'nova-c\u00f6mpute', 5)
        self.assert_agree(compute_rpcapi.ComputeAPI, '6.5')
        self.assertEqual([('cpu-a', C)],
                         [(s.host, s.binary) for s in objects.Service.get_all(
                             self.context, binary=C)])
        self.assertIsNone(objects.Service.get_by_host_and_binary(
            self.context, 'odd-1', C))
        check = self.checks()[ODD_CHECK]
        self.assertEqual(Code.WARNING, check.code)
        for host in ('odd-1', 'odd-2', 'odd-3'):
            self.assertIn('on host %s: its binary' % host, check.details)
        # No command can name these binaries: no command is suggested.
        self.assertNotIn('service delete', check.details)
        self.assertIn('corrected or removed in the database',
                      check.details)
        odd = self.report()['odd_records']
        self.assertEqual(['odd-1', 'odd-2', 'odd-3'],
                         sorted(o['host'] for o in odd))

    # -- NULL host and uuid -----------------------------------------------

    def test_null_host_counts_and_is_reported(self):
        self.insert('cpu-a', C, 7)
        self.insert(None, C, 5)
        self.assert_agree(compute_rpcapi.ComputeAPI, '6.3')
        check = self.checks()[ODD_CHECK]
        self.assertEqual(Code.WARNING, check.code)
        self.assertIn('on host None: it has no host name', check.details)
        # Guard 1 on another host counts the row without a host.
        self.assertEqual(5, objects.Service.get_minimum_version(
            self.context, C, fresh=True))

    def test_null_uuid_reads(self):
        self.insert('cpu-a', C, 7, uuid=None)
        svc = objects.Service.get_by_host_and_binary(self.context, 'cpu-a',
                                                     C)
        self.assertEqual(7, svc.version)
        self.assertFalse(svc.obj_attr_is_set('uuid'))
        self.assert_agree(compute_rpcapi.ComputeAPI, '6.5')

    # -- a host name cannot forge a log line -----------------------------

    def test_newline_in_host_is_escaped(self):
        self.insert('cpu-a', C, 7)
        self.insert('evil\nCRITICAL forged', C, 5)
        decision = self.assert_agree(compute_rpcapi.ComputeAPI, '6.3')
        message = pinning.audit_message(decision)
        self.assertNotIn('\n', message)
        self.assertIn('held by: evil\\nCRITICAL forged', message)
        lines = status.format_pins(self.report())
        self.assertTrue(all('\n' not in line for line in lines))
        self.assertIn('evil\\nCRITICAL forged', '\n'.join(lines))
        check = self.checks()[ODD_CHECK]
        self.assertIn('holds control characters', check.details)
        self.assertNotIn('\n', check.details)

    # -- the heartbeat counter wraps ---------------------------------------

    def test_report_count_at_the_limit_wraps(self):
        record = objects.Service(self.context, host='cpu-a', binary=C,
                                 topic='compute')
        record.create()
        with self.db.engine.begin() as conn:
            table = models.Service.__table__
            conn.execute(table.update().where(table.c.id == record.id)
                         .values(report_count=records.REPORT_COUNT_MAX))
        record = objects.Service.get_by_id(self.context, record.id)
        svc = service.RPCService(C, 'compute',
                                 compute_manager.ComputeManager,
                                 host='cpu-a', conf=self.conf)
        svc.record = record
        log = self.useFixture(fixtures.FakeLogger(
            name='nova_versioning.service', level=logging.WARNING))
        svc._report_state()
        svc._report_state()
        self.assertEqual('', log.output)
        self.assertEqual(2, objects.Service.get_by_id(
            self.context, record.id).report_count)

    # -- nothing odd: the check passes -----------------------------------

    def test_clean_fleet_passes(self):
        before = self.count_rows()
        self.insert('cpu-a', C, 7)
        self.assertEqual(Code.SUCCESS, self.checks()[ODD_CHECK].code)
        self.assertEqual([], self.report()['odd_records'])
        self.assertEqual(before + 1, self.count_rows())


class OddRowsTestCase(OddRowsTestsMixin, base.DBTestCase):
    pass


class TestFleetOddRecords(base.TestCase):
    """Rows no database here can hold, judged in memory."""

    def _service(self, host, binary=C, version=7, **kw):
        svc = objects.Service(host=host, binary=binary, topic='compute',
                              report_count=0, disabled=False,
                              forced_down=False, **kw)
        svc._set_version(version)
        svc.obj_reset_changes()
        return svc

    def test_two_live_records_of_one_host(self):
        fleet = pinreport.Fleet([self._service('h1'), self._service('h1')],
                                conf=self.conf)
        self.assertEqual(
            [('h1', 'it is a second live record of nova-compute on this '
                    'host')],
            [(r.host, problem) for r, problem in fleet.odd_records()])

    def test_zero_date(self):
        fleet = pinreport.Fleet(
            [self._service('h1', last_seen_up=records.ZERO_DATE)],
            conf=self.conf, now=datetime.datetime(2026, 1, 1))
        record = fleet.records[0]
        self.assertTrue(record.stale)
        self.assertEqual('0000-00-00T00:00:00Z',
                         fleet.describe_record(record)['last_heartbeat'])
        self.assertEqual(['its last heartbeat is a zero date'],
                         [p for _r, p in fleet.odd_records()])


class TestRules(base.TestCase):

    def test_effective_version(self):
        for raw, expected in ((None, 1), (0, 1), (-5, 1), (True, 1),
                              ('3', 1), (1, 1), (7, 7)):
            self.assertEqual(expected, records.effective_version(raw), raw)

    def test_next_report_count(self):
        self.assertEqual(1, records.next_report_count(0))
        self.assertEqual(5, records.next_report_count(4))
        self.assertEqual(1, records.next_report_count(2 ** 31 - 1))
        self.assertEqual(1, records.next_report_count(None))
        self.assertEqual(1, records.next_report_count(-1))

    def test_printable(self):
        self.assertEqual('a\\nb\\r\\x00c', records.printable('a\nb\r\x00c'))
        self.assertEqual('c\u00f6mpute', records.printable('c\u00f6mpute'))
        self.assertEqual('a\\u2028b', records.printable('a\u2028b'))
        self.assertEqual('None', records.printable(None))
