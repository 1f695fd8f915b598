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
"""nova-versioning-grenade in embedded mode, run as the real command.

The passing run shows the stages, pins, log lines, refusals and counts;
the broken variant (nothing pinned) and runs with a fault injected show
the job can fail, and says why in its report. The accounting of the load
is tested on its own.
"""

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree

import fixtures

from nova_versioning.cmd import grenade
from nova_versioning.grenade import load
from nova_versioning.grenade import process
from nova_versioning.grenade import scenario
from nova_versioning.grenade import svg
from nova_versioning.tests import base

SCRIPT = ('import sys; from nova_versioning import cmd; '
          'sys.exit(cmd.grenade_main())')

# Run before the command: a fault injected into this one run.
CRASH_ON_FIRST_COMPUTE_UPGRADE = """
from nova_versioning.grenade import fleet
start = fleet.InProcessFleet.start
def failing_start(self, kind, host, release=None, extra=None):
    if host == 'cpu1' and release == 'queens':
        raise RuntimeError('cpu1 never said it was serving')
    return start(self, kind, host, release=release, extra=extra)
fleet.InProcessFleet.start = failing_start
"""

# A conductor pin lifted as soon as cpu2 is upgraded, and a reload that
# lifts the pins without saying so.
EARLY_PIN_AND_SILENT_RELOAD = """
from nova_versioning.grenade import scenario
from nova_versioning.grenade import svg
from nova_versioning.rpc import pinning
pins = scenario.Scenario._pins
def early_pins(self, *args):
    found = pins(self, *args)
    if self.releases.get('cpu2') == 'queens':
        found['conductor'] = '6.5'
    return found
scenario.Scenario._pins = early_pins
pinning.change_message = lambda old, new: 'pins reloaded'
"""


def svg_cells(root):
    """{"Stage N, <row label>": text shown} of the caps in an SVG."""
    cells = {}
    for element in root.iter('{http://www.w3.org/2000/svg}text'):
        title = element.find('{http://www.w3.org/2000/svg}title')
        if title is not None and title.text.startswith('Stage '):
            where, _sep, shown = title.text.partition(': ')
            # The cell shows the same text as its tooltip.
            if element.text == shown:
                cells[where] = shown
    return cells


class GrenadeEmbeddedTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _run(self, *args, **kwargs):
        report = os.path.join(self.tmp, 'report.json')
        # The backend first, as the console script does, then the fault.
        script = ('from nova_versioning import cmd; cmd.select_backend()\n'
                  + textwrap.dedent(kwargs.get('fault', '')) + '\n' + SCRIPT)
        proc = subprocess.run(
            [sys.executable, '-c', script, '--stage-seconds', '0.5',
             '--report', report] + list(args),
            capture_output=True, text=True, timeout=300, cwd=self.tmp,
            env=process.child_env())
        with open(report) as f:
            return proc, json.load(f)

    def test_rolling_upgrade_loses_nothing(self):
        proc, report = self._run()
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        self.assertIs(True, report['ok'])
        self.assertEqual({'old': 'ocata', 'new': 'queens'},
                         report['releases'])
        self.assertEqual(
            [(1, 'ocata', '6.3', '6.3', '6.3'),
             (2, 'queens', '6.3', '6.3', '6.3'),
             (3, 'queens', '6.3', '6.3', '6.3'),
             (4, 'queens', '6.5', '6.5', '6.5'),
             (5, 'queens', '6.5', '6.5', '6.5'),
             (6, 'queens', '6.5', '6.5', '6.5')],
            [(s['stage'], s['controllers'], s['pins']['api'],
              s['pins']['conductor'], s['expected_pin'])
             for s in report['stages']])
        self.assertEqual({'cpu1': 'ocata', 'cpu2': 'ocata',
                          'cpu3': 'ocata'}, report['stages'][1]['computes'])
        self.assertEqual({'cpu1': 'queens', 'cpu2': 'queens',
                          'cpu3': 'queens'}, report['stages'][2]['computes'])
        for stage in report['stages']:
            self.assertEqual((0, 0, []), (stage['rejected'], stage['lost'],
                                          stage['problems']))
            self.assertGreater(stage['sent'], 0)
            self.assertEqual(stage['sent'], stage['answered'])
        self.assertIsNone(report['error'])
        self.assertEqual('all services at ocata, pins auto',
                         report['stages'][0]['name'])
        # The stage table first; the services' log lines in a file.
        self.assertIn('Stage  What', proc.stdout.splitlines()[0])
        self.assertEqual('', proc.stderr)
        self.assertTrue(os.path.exists(report['log_file']))
        self.assertIn('Logs in %s' % report['log_file'], proc.stdout)
        with open(report['log_file']) as f:
            log = f.read()
        # One decision line per pin as a service starts.
        self.assertNotIn('RPC version cap set to', log)
        # The timeline: well-formed, every stage and cap change in it.
        root = ElementTree.parse(report['timeline']).getroot()
        texts = ' '.join(''.join(element.itertext()) for element in
                         root.iter('{http://www.w3.org/2000/svg}text'))
        for stage in report['stages']:
            self.assertIn('Stage %d' % stage['stage'], texts)
        # The cap of every RPC API the job pins, as each sender sends it:
        # the conductor's and the scheduler's lift with the controllers,
        # the compute's with the reload.
        self.assertEqual(
            [(1, '6.3', '6.3', '3.1', '2.1'), (2, '6.3', '6.3', '3.2', '2.2'),
             (3, '6.3', '6.3', '3.2', '2.2'), (4, '6.5', '6.5', '3.2', '2.2'),
             (5, '6.5', '6.5', '3.2', '2.2'), (6, '6.5', '6.5', '3.2', '2.2')],
            [(s['stage'], s['caps']['compute']['api'],
              s['caps']['compute']['conductor'], s['caps']['conductor']['api'],
              s['caps']['scheduler']['conductor']) for s in report['stages']])
        changes = svg.cap_changes(report)
        self.assertEqual([(2, 'conductor', 'api', '3.1', '3.2'),
                          (2, 'scheduler', 'conductor', '2.1', '2.2'),
                          (4, 'compute', 'api', '6.3', '6.5'),
                          (4, 'compute', 'conductor', '6.3', '6.5')], changes)
        cells = svg_cells(root)
        changed = {(n, api, sender): '%s \u2192 %s' % (old, new)
                   for n, api, sender, old, new in changes}
        for stage in report['stages']:
            for api, sender, label in svg.CAP_ROWS:
                number = stage['stage']
                shown = changed.get((number, api, sender),
                                    stage['caps'][api][sender])
                self.assertEqual(shown, cells['Stage %d, %s' % (number,
                                                                label)])
        # The pins after each compute: still back-levelled after the last.
        self.assertEqual(
            [('cpu1', '6.3', '6.3'), ('cpu2', '6.3', '6.3'),
             ('cpu3', '6.3', '6.3')],
            [(s['upgraded'], s['pins']['api'], s['pins']['conductor'])
             for s in report['stages'][2]['steps']])
        reloaded = report['stages'][3]
        changed = 'compute RPC version cap changed from 6.3 to 6.5'
        self.assertEqual(changed, reloaded['expected_log'])
        for who in ('ctl1', 'api'):
            self.assertTrue(any(changed in line for line in
                                reloaded['reloads'][who]['logged']),
                            reloaded['reloads'])
        self.assertIn('not signalled', reloaded['reloads']['api']['how'])
        ancient = report['stages'][4]['refusal']
        self.assertIn('host cpu-ancient is version 6 (pike), older than '
                      'the minimum version 7', ancient)
        forgotten = report['stages'][5]['refusal']
        self.assertIn('does not support computes older than Ocata but the '
                      'minimum compute service level in your cell is 3',
                      forgotten)
        self.assertIn('cpu-forgotten (version 3 (newton))', forgotten)
        self.assertIn('Stage 5 refusal: ' + ancient, proc.stdout)
        self.assertIn('Stage 6 refusal: ' + forgotten, proc.stdout)
        self.assertIn('Stage 4, ctl1 reloaded by ', proc.stdout)
        self.assertIn('PASSED: no message rejected or lost, every object '
                      'as its receiver\'s release defines it, every pin as '
                      'expected (ocata -> queens)', proc.stdout)
        # Tasks went through every stage, each checked by its receivers
        # and by the runner, none found wrong.
        for stage in report['stages']:
            self.assertGreater(stage['objects_checked'], 0, stage)
            self.assertEqual([], stage['object_problems'])
        # The new conductor caps what it sends to the old computes.
        self.assertIn('objects as of service version 5: Task 1.0', log)

    def test_unpinned_controllers_fail_the_job(self):
        proc, report = self._run('--break', 'unpinned')
        self.assertEqual(1, proc.returncode, proc.stdout + proc.stderr)
        self.assertIs(False, report['ok'])
        upgraded = report['stages'][1]
        self.assertEqual('6.5', upgraded['pins']['api'])
        # Old computes reject the calls; the casts they drop are lost.
        self.assertGreater(upgraded['rejected'], 0)
        self.assertGreater(upgraded['lost'], 0)
        self.assertEqual({'UnsupportedVersion': upgraded['rejected']},
                         upgraded['errors'])
        self.assertEqual('all services at ocata, nothing pinned',
                         report['stages'][0]['name'])
        for stage in report['stages']:
            self.assertEqual(stage['sent'], stage['answered'] +
                             stage['rejected'] + stage['lost'])
        self.assertIn('FAILED (ocata -> queens)', proc.stdout)

    def test_objects_without_compat_fail_the_job(self):
        # Objects sent at the sender's versions, no backport: the old
        # computes cannot read what the new conductor sends them.
        proc, report = self._run('--break', 'objects')
        self.assertEqual(1, proc.returncode, proc.stdout + proc.stderr)
        self.assertIs(False, report['ok'])
        self.assertEqual('objects', report['break'])
        old, upgraded = report['stages'][0], report['stages'][1]
        self.assertEqual((0, 0), (old['rejected'], old['lost']))
        self.assertGreater(upgraded['rejected'], 0)
        self.assertEqual(['ObjectVersionTooNew'], list(upgraded['errors']))
        # Once every compute and the pins are upgraded, nothing fails.
        for stage in report['stages'][3:]:
            self.assertEqual((0, 0), (stage['rejected'], stage['lost']))
        self.assertIn('FAILED (ocata -> queens)', proc.stdout)

    def test_a_crash_still_writes_the_report(self):
        proc, report = self._run(fault=CRASH_ON_FIRST_COMPUTE_UPGRADE)
        self.assertEqual(1, proc.returncode, proc.stdout + proc.stderr)
        self.assertIs(False, report['ok'])
        self.assertEqual([1, 2], [s['stage'] for s in report['stages']])
        self.assertTrue(all(s['ok'] for s in report['stages']))
        error = report['error']
        self.assertEqual(
            (3, 'computes upgraded to queens one at a time',
             'RuntimeError: cpu1 never said it was serving'),
            (error['stage'], error['name'], error['error']))
        # What stage 3 sent before it stopped is accounted too.
        self.assertEqual(error['sent'], error['answered'] +
                         error['rejected'] + error['lost'])
        self.assertIsNone(report['workdir'])
        self.assertIn('Stage 3 (computes upgraded to queens one at a time) '
                      'did not finish: RuntimeError: cpu1 never said it '
                      'was serving', proc.stdout)
        self.assertIn('FAILED (ocata -> queens)', proc.stdout)

    def test_pins_checked_after_each_compute_and_reload_logged(self):
        proc, report = self._run(fault=EARLY_PIN_AND_SILENT_RELOAD)
        self.assertEqual(1, proc.returncode, proc.stdout + proc.stderr)
        computes = report['stages'][2]
        self.assertEqual(
            ['after upgrading cpu2: conductor sends at 6.5, expected 6.3',
             'after upgrading cpu3: conductor sends at 6.5, expected 6.3',
             'conductor sends at 6.5, expected 6.3'],
            computes['problems'])
        reloaded = report['stages'][3]
        self.assertEqual(['6.5', '6.5'], [reloaded['pins']['api'],
                                          reloaded['pins']['conductor']])
        self.assertEqual(
            ['api did not log "compute RPC version cap changed from 6.3 '
             'to 6.5"', 'ctl1 did not log "compute RPC version cap '
             'changed from 6.3 to 6.5"'],
            [p.split(' (logged')[0] for p in reloaded['problems']])
        self.assertEqual([0, 0], [reloaded['rejected'], reloaded['lost']])

    def test_at_least_three_computes(self):
        proc = subprocess.run(
            [sys.executable, '-c', SCRIPT, '--computes', '2'],
            capture_output=True, text=True, timeout=60, cwd=self.tmp,
            env=process.child_env())
        self.assertNotEqual(0, proc.returncode, proc.stderr)
        self.assertIn('argument --computes: Invalid Integer(min=3',
                      proc.stderr)


class OutputPathTestCase(base.TestCase):
    """An output path that cannot be written: one line, before the run."""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        # A regular file: nothing can be made under it, root or not.
        self.file = os.path.join(self.tmp, 'a-file')
        with open(self.file, 'w') as f:
            f.write('not a directory\n')

    def _run(self, *args):
        proc = subprocess.run(
            [sys.executable, '-c', SCRIPT, '--stage-seconds', '0.5'] +
            list(args), capture_output=True, text=True, timeout=120,
            cwd=self.tmp, env=process.child_env())
        self.assertEqual(1, proc.returncode, proc.stdout + proc.stderr)
        self.assertNotIn('Traceback', proc.stderr)
        lines = proc.stderr.splitlines()
        self.assertEqual(1, len(lines), proc.stderr)
        # Nothing ran: no stage table.
        self.assertEqual('', proc.stdout)
        return lines[0]

    def test_report_under_a_regular_file(self):
        report = os.path.join(self.file, 'report.json')
        self.assertEqual(
            "nova-versioning-grenade: error: Invalid value %r for option "
            "--report: cannot write it (Not a directory: %s)"
            % (report, self.file), self._run('--report', report))
        self.assertEqual(['a-file'], os.listdir(self.tmp))

    def test_report_deeper_under_a_regular_file(self):
        report = os.path.join(self.file, 'reports', 'report.json')
        line = self._run('--report', report)
        self.assertIn("Invalid value %r for option --report: cannot write "
                      "it (Not a directory" % report, line)

    def test_report_where_nothing_can_be_created(self):
        self.assertEqual(
            "nova-versioning-grenade: error: Invalid value "
            "'/proc/nv-grenade-report.json' for option --report: cannot "
            "write it (No such file or directory)",
            self._run('--report', '/proc/nv-grenade-report.json'))

    def test_workdir_is_a_regular_file(self):
        report = os.path.join(self.tmp, 'reports', 'report.json')
        self.assertEqual(
            "nova-versioning-grenade: error: Invalid value %r for option "
            "--workdir: cannot write in it (Not a directory)" % self.file,
            self._run('--report', report, '--workdir', self.file))
        # The report's directory was made; nothing was written in it.
        self.assertEqual([], os.listdir(os.path.dirname(report)))


class WorkdirTestCase(base.TestCase):
    """A temporary workdir is kept only when a real-mode run failed."""

    def setUp(self):
        super().setUp()
        self.conf_fixture.register_cli_opts(grenade.cli_opts)
        self.workdir = self.useFixture(fixtures.TempDir()).path

    def test_real_mode_failure_keeps_it(self):
        self.flags(mode='real')
        self.assertEqual(self.workdir,
                         grenade._dispose_workdir(self.workdir, ok=False))
        self.assertTrue(os.path.isdir(self.workdir))

    def test_real_mode_pass_removes_it(self):
        self.flags(mode='real')
        self.assertIsNone(grenade._dispose_workdir(self.workdir, ok=True))
        self.assertFalse(os.path.exists(self.workdir))

    def test_embedded_failure_removes_it(self):
        self.assertIsNone(grenade._dispose_workdir(self.workdir, ok=False))
        self.assertFalse(os.path.exists(self.workdir))

    def test_a_given_workdir_is_kept(self):
        self.flags(mode='real', workdir=self.workdir)
        self.assertEqual(self.workdir,
                         grenade._dispose_workdir(self.workdir, ok=True))
        self.assertTrue(os.path.isdir(self.workdir))


def _counters(sent_calls=0, answered=0, rejected=0, lost=0, casts=()):
    counters = load.HostCounters()
    counters.sent = sent_calls + len(casts) + rejected
    counters.calls = sent_calls
    counters.answered = answered
    counters.rejected = rejected
    counters.lost = lost
    counters.cast_ids = list(casts)
    return counters


class LedgerTestCase(base.TestCase):

    def test_a_late_cast_is_credited_to_the_stage_that_sent_it(self):
        ledger = scenario.Ledger()
        ledger.add(2, _counters(sent_calls=1, answered=1,
                                casts=['m1', 'm2']))
        ledger.handled(['m1'])
        self.assertEqual((3, 2, 0, 1), _sum(ledger.totals(2)))
        ledger.add(3, _counters(casts=['m3', 'm4']))
        # m2 shows up late, while stage 3's casts are still out.
        ledger.handled(['m2', 'm3'])
        self.assertEqual((3, 3, 0, 0), _sum(ledger.totals(2)))
        self.assertEqual((2, 1, 0, 1), _sum(ledger.totals(3)))

    def test_lost_is_exact_and_never_negative(self):
        ledger = scenario.Ledger()
        ledger.add(1, _counters(casts=['m1']))
        ledger.handled(['m1', 'm1', 'unknown'])
        ledger.add(2, _counters(sent_calls=2, answered=1, lost=1,
                                rejected=1, casts=['m2']))
        self.assertEqual((1, 1, 0, 0), _sum(ledger.totals(1)))
        self.assertEqual((4, 1, 1, 2), _sum(ledger.totals(2)))
        ledger.handled(['m2'])
        self.assertEqual((4, 2, 1, 1), _sum(ledger.totals(2)))

    def test_a_cast_handled_before_it_is_counted(self):
        ledger = scenario.Ledger()
        ledger.handled(['m1'])
        ledger.add(1, _counters(casts=['m1']))
        self.assertEqual((1, 1, 0, 0), _sum(ledger.totals(1)))


def _sum(totals):
    return (totals['sent'], totals['answered'], totals['rejected'],
            totals['lost'])
