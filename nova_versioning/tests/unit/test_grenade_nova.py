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
"""The grenade-nova job's reading of Nova's logs and of the tools' output.

No Nova here: the texts are Nova's own lines and tables, as the job meets
them (tox -e grenade-nova runs the job itself on real Nova).
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import fixtures

from nova_versioning.grenade import novacheck
from nova_versioning.grenade import novaenv
from nova_versioning.grenade import novajob
from nova_versioning.grenade import process
from nova_versioning.grenade import svg
from nova_versioning.tests import base

PREFIX = ('2026-12-06 02:50:25.443 8468 INFO nova.compute.rpcapi [None '
          'req-d2d3 - - - - - -] ')

CONDUCTOR_LOG = '\n'.join([
    PREFIX + 'Preparing to request pre-caching of image(s) s1-0 on 2 hosts '
             'across 1 cells.',
    PREFIX + 'Automatically selected compute RPC version 6.4 from minimum '
             'service version 70',
    PREFIX + 'Preparing to request pre-caching of image(s) s1-1 on 2 hosts '
             'across 1 cells.',
    PREFIX + 'Image pre-cache operation for image(s) s1-1 completed in 0.14 '
             'seconds; 0 cached, 1 existing, 0 errors, 1 unsupported, 0 '
             'skipped (down) hosts',
    PREFIX + 'Automatically selected compute RPC version 6.5 from minimum '
             'service version 72',
])

NOVA_STATUS = """\
+-------------------------------------------------------------------+
| Upgrade Check Results                                             |
+-------------------------------------------------------------------+
| Check: Cells v2                                                   |
| Result: Success                                                   |
| Details: None                                                     |
+-------------------------------------------------------------------+
| Check: Older than N-1 computes                                    |
| Result: Failure                                                   |
| Details: Current Nova version does not support computes older     |
|   than Epoxy but the minimum compute service level in your        |
|   system is 67 and the oldest supported service level is 68.      |
+-------------------------------------------------------------------+
| Check: Placement API                                              |
| Result: Warning                                                   |
| Details: None                                                     |
+-------------------------------------------------------------------+
"""


def pins_report(auto='6.4', cap=None, configured='auto', minimum=70,
                hosts=('cpu1', 'cpu2'), latest='6.5', upgraded=()):
    return {
        'history_source': 'live Nova 33.0.2',
        'what_if': {'upgraded': list(upgraded), 'removed': []},
        'apis': [
            {'api': 'conductor', 'cap': '3.0', 'auto_cap': '3.0',
             'latest_cap': '3.0', 'at_minimum': []},
            {'api': 'compute', 'configured': configured,
             'cap': cap or auto, 'source': 'auto', 'auto_cap': auto,
             'latest_cap': latest, 'minimum_version': minimum,
             'at_minimum': [{'host': h} for h in hosts], 'error': None,
             'warning': None},
        ]}


class NovaLogTest(base.TestCase):

    def test_auto_selections_in_order(self):
        self.assertEqual([('6.4', 70), ('6.5', 72)],
                         novacheck.auto_selections(CONDUCTOR_LOG))
        self.assertEqual('6.5', novacheck.last_cap(CONDUCTOR_LOG))
        self.assertEqual('none', novacheck.last_cap('nothing', 'none'))

    def test_image_requests_completed_and_not(self):
        requests = novacheck.image_requests(CONDUCTOR_LOG,
                                            ['s1-0', 's1-1', 's1-9'])
        self.assertEqual({'hosts': 2, 'handled': None, 'error': 0,
                          'skipped': 0, 'completed': False},
                         requests['s1-0'])
        self.assertEqual({'hosts': 2, 'handled': 2, 'error': 0,
                          'skipped': 0, 'completed': True},
                         requests['s1-1'])
        self.assertIsNone(requests['s1-9']['hosts'])

    def test_count_casts_and_settle(self):
        requests = novacheck.image_requests(CONDUCTOR_LOG, ['s1-0', 's1-1'])
        casts = novacheck.count_casts(requests, 2)
        self.assertEqual({'sent': 4, 'handled': 2, 'errors': 0,
                          'skipped': 0, 'unanswered': 0, 'incomplete': 1},
                         casts)
        calls = {'sent': 4, 'handled': 2, 'rejected': 1, 'lost': 1}
        self.assertEqual({'sent': 8, 'handled': 4, 'rejected': 1,
                          'lost': 3},
                         novacheck.settle(casts, calls, 0))
        # The computes' logs may know of more rejections than the caller.
        self.assertEqual(3, novacheck.settle(casts, calls, 3)['rejected'])

    @staticmethod
    def _one_cast(existing, unsupported, skipped):
        """count_casts of one cast to two hosts, from its completed line."""
        text = PREFIX + (
            'Image pre-cache operation for image(s) s2-0 completed in 0.01 '
            'seconds; 0 cached, %d existing, 0 errors, %d unsupported, %d '
            'skipped (down) hosts' % (existing, unsupported, skipped))
        return novacheck.count_casts(
            novacheck.image_requests(text, ['s2-0']), 2)

    def test_hosts_found_down_are_counted(self):
        casts = self._one_cast(existing=0, unsupported=1, skipped=1)
        self.assertEqual({'sent': 2, 'handled': 1, 'errors': 0,
                          'skipped': 1, 'unanswered': 0, 'incomplete': 0},
                         casts)
        calls = {'sent': 0, 'handled': 0, 'rejected': 0, 'lost': 0}
        self.assertEqual(1, novacheck.settle(casts, calls, 0)['lost'])

    def test_hosts_that_did_not_answer_are_counted(self):
        # The conductor's call to a host raised (a timeout): its completed
        # line names that host in none of its counts.
        casts = self._one_cast(existing=1, unsupported=0, skipped=0)
        self.assertEqual(1, casts['unanswered'])
        self.assertEqual(1, casts['handled'])

    def test_cache_requests(self):
        text = '\n'.join([
            PREFIX + 'Caching 1 image(s) by request',
            PREFIX + 'Caching 2 image(s) by request',
            PREFIX + 'Virt driver does not support image pre-caching'])
        self.assertEqual(2, novacheck.cache_requests(text))
        self.assertEqual(0, novacheck.cache_requests(''))

    def test_noteworthy_lines(self):
        text = '\n'.join(
            ['2026-12-06 02:50:25.443 8468 DEBUG x [-] quiet'] +
            ['2026-12-06 02:50:25.443 8468 WARNING nova.servicegroup [-] '
             'lost %d' % i for i in range(10)] +
            ['2026-12-06 02:50:25.443 8468 DEBUG nova.servicegroup.drivers.'
             'db [-] Seems service nova-compute on host cpu2 is down. Last '
             'heartbeat was 2026-12-06 02:50:01. Elapsed time is 24.4',
             PREFIX + "Skipping image pre-cache "
             "request to compute 'cpu2' because it is not up",
             '2026-12-06 02:50:25.443 8468 ERROR x [-] ' + 'y' * 400])
        lines = novacheck.noteworthy(text)
        self.assertEqual(8, len(lines))
        self.assertEqual('WARNING nova.servicegroup [-] lost 5', lines[0])
        self.assertIn('Seems service nova-compute on host cpu2 is down',
                      lines[-3])
        self.assertIn("compute 'cpu2' because it is not up", lines[-2])
        self.assertTrue(lines[-1].startswith('ERROR x [-] yyy'))
        self.assertEqual(300, len(lines[-1]))
        self.assertEqual([], novacheck.noteworthy(
            '2026-12-06 02:50:25.443 8468 INFO x [-] fine'))
        # What Nova warns of at every burst of the job explains nothing.
        self.assertEqual([], novacheck.noteworthy('\n'.join([
            PREFIX.replace('INFO', 'WARNING') + 'Virt driver does not '
            'support image pre-caching; ignoring request',
            PREFIX.replace('INFO', 'WARNING') + 'The ForkProcess-1.'
            'cache_images pool does not have free threads so the task '
            'will be queued.'])))

    def test_settle_never_negative(self):
        casts = {'sent': 2, 'handled': 2, 'errors': 0, 'skipped': 0,
                 'unanswered': 0, 'incomplete': 0}
        calls = {'sent': 0, 'handled': 0, 'rejected': 0, 'lost': 0}
        self.assertEqual(0, novacheck.settle(casts, calls, 5)['lost'])

    def test_rejections(self):
        text = ('ERROR oslo_messaging.rpc.server oslo_messaging.rpc.'
                'dispatcher.UnsupportedVersion: Endpoint does not support '
                'RPC version 6.5\nINFO ok\n')
        self.assertEqual(2, novacheck.rejections(text))
        self.assertEqual(0, novacheck.rejections('Caching 1 image(s)'))


class PredictionTest(base.TestCase):

    def test_prediction_held_and_what_if(self):
        result = novacheck.prediction(
            pins_report(),
            pins_report(auto='6.5', minimum=72, hosts=(),
                        upgraded=['cpu1', 'cpu2']))
        self.assertEqual('6.4', result['cap'])
        self.assertEqual(['cpu1', 'cpu2'], result['held_by'])
        self.assertEqual(70, result['minimum'])
        self.assertEqual({'upgraded': ['cpu1', 'cpu2'], 'cap': '6.5',
                          'auto_cap': '6.5'}, result['what_if'])

    def test_prediction_at_latest_held_by_nobody(self):
        result = novacheck.prediction(pins_report(auto='6.5', minimum=72))
        self.assertEqual([], result['held_by'])
        self.assertIsNone(result['what_if'])

    def test_prediction_explicit_pin(self):
        result = novacheck.prediction(pins_report(cap='6.5',
                                                  configured='6.5'))
        self.assertEqual(('6.5', '6.4'), (result['cap'], result['auto_cap']))

    def test_prediction_without_compute_api(self):
        self.assertRaises(ValueError, novacheck.prediction, {'apis': []})

    def test_compare_cap(self):
        self.assertEqual([], novacheck.compare_cap('6.4', '6.4', 'c'))
        self.assertIn('selected compute RPC version 6.5, the project '
                      'predicted 6.4',
                      novacheck.compare_cap('6.4', '6.5', 'c')[0])
        self.assertIn('logged no', novacheck.compare_cap('6.4', None,
                                                         'c')[0])


class UpgradeCheckTest(base.TestCase):

    def test_table_verdict_multiline_details(self):
        verdict, details = novacheck.table_verdict(
            NOVA_STATUS, novacheck.NOVA_OLD_COMPUTES)
        self.assertEqual('Failure', verdict)
        self.assertEqual('Current Nova version does not support computes '
                         'older than Epoxy but the minimum compute service '
                         'level in your system is 67 and the oldest '
                         'supported service level is 68.', details)
        self.assertEqual(('Success', None),
                         novacheck.table_verdict(NOVA_STATUS, 'Cells v2'))

    def test_table_verdict_missing(self):
        self.assertRaises(ValueError, novacheck.table_verdict, NOVA_STATUS,
                          'No such check')

    def test_check_verdict_json_after_warnings(self):
        document = {'name': 'x', 'checks': [
            {'check': novacheck.OURS_OLD_COMPUTES, 'result': 2,
             'details': 'too old'},
            {'check': novacheck.OURS_PINS, 'result': 1, 'details': 'pin'}]}
        text = 'WARNING something\n' + json.dumps(document)
        self.assertEqual(('Failure', 'too old'), novacheck.check_verdict(
            text, novacheck.OURS_OLD_COMPUTES))
        self.assertEqual(('Warning', 'pin'), novacheck.check_verdict(
            document, novacheck.OURS_PINS))
        self.assertRaises(ValueError, novacheck.check_verdict, 'no json',
                          'x')
        self.assertRaises(ValueError, novacheck.check_verdict, document,
                          'x')

    def test_compare_verdicts(self):
        self.assertEqual([], novacheck.compare_verdicts('Success',
                                                        'Success'))
        self.assertEqual(1, len(novacheck.compare_verdicts('Success',
                                                           'Failure')))


def stage(number, ok=True, **extra):
    result = {
        'stage': number, 'name': 'stage %d' % number,
        'controllers': 'gazpacho', 'computes': {'cpu1': 'flamingo'},
        'expected_pin': '6.4', 'pins': {'api': '6.4', 'conductor': '6.4'},
        'prediction': novacheck.prediction(pins_report()),
        'nova_logged': [PREFIX + 'Automatically selected compute RPC '
                                 'version 6.4 from minimum service version '
                                 '70'],
        'upgrade_check': {'ours': 'Success', 'nova': 'Success',
                          'pins': 'Success'},
        'sent': 8, 'answered': 8, 'handled': 8, 'rejected': 0, 'lost': 0,
        'errors': {}, 'problems': [] if ok else ['4 lost'], 'ok': ok}
    result.update(extra)
    return result


class ReportTest(base.TestCase):

    def test_table(self):
        report = {'ok': True, 'stages': [stage(1)], 'error': None,
                  'releases': {'old': 'Nova 32.2.1', 'new': 'Nova 33.0.2'}}
        text = novacheck.format_table(report)
        row = text.splitlines()[2].split()
        self.assertEqual(['1', 'stage', '1', 'gazpacho', 'flamingo', '6.4',
                          '6.4', 'Success/Success', '8', '8', '0', '0',
                          'ok'], row)
        self.assertIn('held by cpu1, cpu2', text)
        self.assertIn('  Nova logged: Automatically selected compute RPC '
                      'version 6.4 from minimum service version 70', text)
        self.assertIn('PASSED', text.splitlines()[-1])

    def test_table_of_a_broken_run(self):
        report = {'ok': False, 'releases': None, 'stages': [stage(
            2, ok=False, errors={'MessagingTimeout': 4}, upgrade_check={
                'ours': 'Success', 'nova': 'Success', 'pins': 'Warning',
                'pins_details': 'newer than compute'})],
            'error': {'stage': 3, 'name': 'x', 'error': 'boom'}}
        text = novacheck.format_table(report)
        self.assertIn('PROBLEM: 4 lost', text)
        self.assertIn('RPC errors: MessagingTimeout 4', text)
        self.assertIn('pins check: Warning: newer than compute', text)
        self.assertIn('Stage 3 (x) did not finish: boom', text)
        self.assertTrue(text.splitlines()[-1].startswith('FAILED'))

    def test_a_lost_message_is_explained(self):
        casts = {'sent': 4, 'handled': 1, 'errors': 0, 'skipped': 2,
                 'unanswered': 1, 'incomplete': 0}
        log = {'conductor': ["INFO nova.conductor.manager [-] Skipping "
                             "image pre-cache request to compute 'cpu2' "
                             "because it is not up"]}
        broken = stage(5, ok=False, casts=dict(casts, taken={
            'cpu1': 2, 'cpu2': 1}), log=log)
        text = novacheck.format_table({'ok': False, 'stages': [broken]})
        self.assertIn('  Pre-cache casts: 4 messages, 1 handled, 0 errors, '
                      '2 to hosts the conductor found down, 1 whose call '
                      'from the conductor got no answer, 0 casts not '
                      'completed in time', text)
        self.assertIn('  Pre-cache calls the computes logged taking: cpu1 '
                      '2, cpu2 1', text)
        self.assertIn("  conductor log: INFO nova.conductor.manager [-] "
                      "Skipping image pre-cache request to compute 'cpu2'",
                      text)
        # A stage that passed lists neither.
        text = novacheck.format_table({'ok': True, 'stages': [
            stage(1, casts=casts, log=log)]})
        self.assertNotIn('Pre-cache casts', text)
        self.assertNotIn('conductor log', text)

    def test_stage_totals_add_up_by_key(self):
        into = {}
        novajob._add_counts(into, {'sent': 4, 'taken': {'cpu1': 2}})
        novajob._add_counts(into, {'sent': 4, 'skipped': 1,
                                   'taken': {'cpu1': 1, 'cpu2': 2}})
        self.assertEqual({'sent': 8, 'skipped': 1,
                          'taken': {'cpu1': 3, 'cpu2': 2}}, into)

    def test_broken_run_failed_as_it_must(self):
        lost = stage(2, ok=False, lost=4, upgrade_check={
            'ours': 'Success', 'nova': 'Success', 'pins': 'Warning'})
        report = {'ok': False, 'error': None, 'stages': [stage(1), lost]}
        self.assertEqual([], novacheck.broken_run_problems(report))

    def test_broken_run_that_did_not_fail(self):
        report = {'ok': True, 'error': None, 'stages': [stage(1), stage(2)]}
        self.assertEqual(
            ['the job passed', 'stage 2 lost and rejected nothing',
             "the project's RPC version pins check said Success in stage "
             "2, not Warning"],
            novacheck.broken_run_problems(report))

    def test_broken_run_that_failed_otherwise(self):
        report = {'ok': False, 'stages': [stage(1)], 'error': {
            'stage': 2, 'name': 'control plane upgraded',
            'error': 'RuntimeError: boom'}}
        self.assertEqual(
            ['stage 2 (control plane upgraded) did not finish: '
             'RuntimeError: boom', 'no stage 2 in the report'],
            novacheck.broken_run_problems(report))

    def test_svg_of_the_report(self):
        report = {'ok': False, 'stages': [stage(1), stage(2, ok=False)],
                  'releases': {'old': 'a', 'new': 'b'}}
        root = ElementTree.fromstring(svg.render(report))
        self.assertTrue(root.tag.endswith('svg'))
        self.assertIn('FAIL', svg.render(report))


class VenvTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def test_venv_root_from_environment(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'NOVA_VERSIONING_NOVA_VENVS', self.tmp))
        self.assertEqual(self.tmp, novajob.venv_root())

    def test_constraints_pin_every_package(self):
        for release in (novaenv.OLD, novaenv.NEW):
            with open(release.constraints) as f:
                lines = [line.strip() for line in f
                         if line.strip() and not line.startswith('#')]
            self.assertTrue(all('==' in line for line in lines), lines)
            self.assertIn('nova==%s' % release.version, lines)

    def test_reused_while_the_list_is_unchanged(self):
        constraints = os.path.join(self.tmp, 'c.txt')
        with open(constraints, 'w') as f:
            f.write('nova==1\n')
        release = novaenv.Release('old', 'x', '1')
        release.constraints = constraints
        release.venv = os.path.join(self.tmp, 'venv')
        os.makedirs(release.venv)
        with open(os.path.join(release.venv, novaenv.STAMP), 'w') as f:
            f.write(novaenv._digest([constraints]) + '\n')
        with open(os.devnull, 'w') as log:
            self.assertEqual('reused',
                             novaenv._build_one(release, None, log))


class CommandLineTest(base.TestCase):

    def _refused(self, *args):
        tmp = self.useFixture(fixtures.TempDir()).path
        proc = subprocess.run(
            [sys.executable, '-c', 'import sys; from nova_versioning import '
             'cmd; sys.exit(cmd.grenade_main())'] + list(args) +
            ['--report', os.path.join(tmp, 'r.json')],
            capture_output=True, text=True, timeout=120, cwd=tmp,
            env=process.child_env())
        self.assertEqual(2, proc.returncode, proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(tmp, 'r.json')))
        return proc.stderr.strip()

    def test_overpinned_needs_nova_mode(self):
        self.assertEqual('nova-versioning-grenade: error: --break '
                         'overpinned needs --mode nova, not embedded',
                         self._refused('--break', 'overpinned'))

    def test_objects_break_is_not_for_nova_mode(self):
        self.assertEqual('nova-versioning-grenade: error: --break objects '
                         'needs --mode embedded or real, not nova',
                         self._refused('--mode', 'nova', '--break',
                                       'objects'))
