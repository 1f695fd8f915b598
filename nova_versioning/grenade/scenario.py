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
"""The rolling-upgrade scenario, stage by stage.

1. conductor and computes at release N-2, every pin ``auto``;
2. controllers (the conductor, and this runner, which plays the API)
   upgraded to N: pins stay back-levelled;
3. computes upgraded one at a time: pins stay back-levelled until the
   last one, and until the controllers are told to look again;
4. SIGHUP to the controllers: pins lift to the latest;
5. an ancient compute (older than every other) tries to start: refused,
   no record written;
6. a forgotten compute record older than the oldest supported release
   blocks a new controller's start, with a message naming it.

The load generator sends to every compute the whole time (paused only for
the host being restarted); any rejected or lost message, unexpected pin or
missing refusal fails the run.
"""

import time

from oslo_log import log as logging

from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning import context as nv_context
from nova_versioning.db import api as db_api
from nova_versioning.grenade import fleet as nv_fleet
from nova_versioning.grenade import load
from nova_versioning import objects

LOG = logging.getLogger(__name__)

DRAIN_SECONDS = 20
IDLE_SECONDS = 1.0


class Scenario(object):
    """One run of the scenario against a fleet.

    :param fleet: a ProcessFleet or an InProcessFleet.
    :param history: the VersionHistory of this code.
    :param make_conf: callable(release) -> ConfigOpts of this runner at
        that release (its [upgrade_levels] included).
    :param computes: how many computes.
    :param stage_seconds: how long the load runs in each stage.
    """

    def __init__(self, fleet, history, make_conf, computes=3,
                 stage_seconds=3.0):
        self.fleet = fleet
        self.history = history
        self.make_conf = make_conf
        self.computes = ['cpu%d' % (i + 1) for i in range(computes)]
        self.stage_seconds = stage_seconds
        self.context = nv_context.get_admin_context()
        names = list(history.releases)
        self.new = names[-1]
        self.old = names[-3]
        self.previous = names[-2]
        self.old_cap = history.rpc_version(
            'compute', history.releases[self.old])
        self.latest_cap = history.latest_rpc_version('compute')
        self.stages = []
        self.handles = {}
        self.releases = {}
        self._api = None
        self._epoch = {}
        self.load = load.LoadGenerator(lambda: self._api, self.context)

    # -- helpers ---------------------------------------------------------

    def _controllers_at(self, release):
        """The runner's own API client, as code of release."""
        api = compute_rpcapi.ComputeAPI(self.fleet.transport,
                                        conf=self.make_conf(release))
        api.resolve(self.context)
        self._api = api
        self.releases['api'] = release

    def _start(self, kind, host, release):
        self.handles[host] = self.fleet.start(kind, host, release=release)
        self.releases[host] = release
        if kind == 'compute':
            self._epoch[host] = {'casts': 0, 'accounted': 0}

    def _account(self, host, totals):
        """Drain host and add what it was sent to totals."""
        self.load.pause(host)
        counters = self.load.take(host)
        epoch = self._epoch[host]
        epoch['casts'] += counters.casts
        lost_calls = counters.errors.get('MessagingTimeout', 0)
        totals['sent'] += counters.sent
        totals['rejected'] += counters.rejected - lost_calls
        totals['lost'] += lost_calls
        for name, count in counters.errors.items():
            totals['errors'][name] = totals['errors'].get(name, 0) + count
        # Wait until the compute handled every cast sent, or handles no
        # more of them (the rest are lost).
        deadline = time.monotonic() + DRAIN_SECONDS
        handled = last = -1
        idle_since = time.monotonic()
        while True:
            try:
                stats = self.fleet.stats(self.handles[host])
                handled = sum(stats.get(m, 0) for m in load.CAST_METHODS)
            except Exception as exc:
                LOG.warning('Cannot read the counters of %s: %s', host, exc)
            now = time.monotonic()
            if handled != last:
                last, idle_since = handled, now
            if (handled >= epoch['casts'] or now > deadline or
                    now - idle_since > IDLE_SECONDS):
                break
            time.sleep(0.1)
        handled = max(handled, 0)
        lost = max(0, epoch['casts'] - handled) - epoch['accounted']
        epoch['accounted'] += lost
        totals['lost'] += lost
        # Answered: calls that returned, and casts the compute handled.
        totals['answered'] += counters.answered + counters.casts - lost

    def _run_load(self, totals):
        time.sleep(self.stage_seconds)
        for host in self.load.hosts():
            self._account(host, totals)
            self.load.resume(host)

    def _pins(self):
        conductor = self.fleet.caps(self.handles['ctl1'])['compute']
        return {'api': self._api.decision.cap, 'conductor': conductor}

    def _stage(self, number, name, expected_cap, totals, checks=(),
               pins=None):
        pins = pins or self._pins()
        problems = list(checks)
        for who, cap in sorted(pins.items()):
            if cap != expected_cap:
                problems.append('%s sends at %s, expected %s'
                                % (who, cap, expected_cap))
        if totals['rejected']:
            problems.append('%d rejected' % totals['rejected'])
        if totals['lost']:
            problems.append('%d lost' % totals['lost'])
        stage = {
            'stage': number, 'name': name,
            'controllers': self.releases.get('ctl1'),
            'computes': {h: self.releases[h] for h in self.computes},
            'pins': pins, 'expected_pin': expected_cap,
            'sent': totals['sent'], 'answered': totals['answered'],
            'rejected': totals['rejected'], 'lost': totals['lost'],
            'errors': totals['errors'], 'problems': problems,
            'ok': not problems,
        }
        self.stages.append(stage)
        LOG.info('Stage %(stage)s %(name)s: %(result)s',
                 {'stage': number, 'name': name,
                  'result': 'ok' if not problems else '; '.join(problems)})
        return stage

    @staticmethod
    def _totals():
        return {'sent': 0, 'answered': 0, 'rejected': 0, 'lost': 0,
                'errors': {}}

    # -- stages ----------------------------------------------------------

    def run(self):
        try:
            self._stage1()
            self._stage2()
            self._stage3()
            self._stage4()
            self._stage5()
            self._stage6()
        finally:
            self.load.stop()
        return {'ok': all(stage['ok'] for stage in self.stages),
                'stages': self.stages,
                'releases': {'old': self.old, 'new': self.new}}

    def _stage1(self):
        totals = self._totals()
        self._controllers_at(self.old)
        self._start('conductor', 'ctl1', self.old)
        for host in self.computes:
            self._start('compute', host, self.old)
            self.load.add_host(host)
        self._run_load(totals)
        self._stage(1, 'all services at %s, pins auto' % self.old,
                    self.old_cap, totals)

    def _stage2(self):
        totals = self._totals()
        self.fleet.stop(self.handles['ctl1'])
        self._start('conductor', 'ctl1', self.new)
        self._controllers_at(self.new)
        self._run_load(totals)
        self._stage(2, 'controllers upgraded to %s' % self.new, self.old_cap,
                    totals)

    def _stage3(self):
        totals = self._totals()
        for host in self.computes:
            self._account(host, totals)
            self.fleet.stop(self.handles[host])
            self._start('compute', host, self.new)
            self.load.resume(host)
            self._run_load(totals)
        self._stage(3, 'computes upgraded to %s one at a time' % self.new,
                    self.old_cap, totals)

    def _stage4(self):
        totals = self._totals()
        self.fleet.reload(self.handles['ctl1'])
        self._api.resolve(self.context)
        self._run_load(totals)
        self._stage(4, 'SIGHUP to the controllers', self.latest_cap, totals)

    def _stage5(self):
        totals = self._totals()
        checks = []
        try:
            self._start('compute', 'cpu-ancient', self.previous)
            checks.append('the %s compute was allowed to start'
                          % self.previous)
        except nv_fleet.StartRefused as exc:
            self.releases['cpu-ancient-refusal'] = str(exc)
            if 'ServiceTooOld' not in type(exc).__name__ and (
                    'older than the minimum version' not in str(exc)):
                checks.append('refused for another reason: %s' % exc)
        if objects.Service.get_by_host_and_binary(
                self.context, 'cpu-ancient', 'nova-compute') is not None:
            checks.append('a record was written for cpu-ancient')
        self._run_load(totals)
        self._stage(5, 'an ancient (%s) compute tries to start'
                    % self.previous, self.latest_cap, totals, checks)

    def _stage6(self):
        totals = self._totals()
        checks = []
        oldest = self.history.oldest_supported_version
        record = db_api.service_create(self.context, {
            'host': 'cpu-forgotten', 'binary': 'nova-compute',
            'topic': 'compute', 'report_count': 0, 'disabled': False,
            'forced_down': False, 'version': oldest - 1})
        objects.Service.clear_min_version_cache()
        try:
            try:
                self._start('conductor', 'ctl2', self.new)
                checks.append('ctl2 started despite a compute older than '
                              'the oldest supported release')
            except nv_fleet.StartRefused as exc:
                if 'cpu-forgotten' not in str(exc):
                    checks.append('refusal does not name cpu-forgotten: %s'
                                  % exc)
        finally:
            db_api.service_destroy(self.context, record.id)
        self._run_load(totals)
        self._stage(6, 'a forgotten compute older than %s blocks a new '
                    'controller' % self.history.oldest_supported,
                    self.latest_cap, totals, checks)


COLUMNS = ('Stage', 'What', 'Controllers', 'Computes', 'Pin API/cond',
           'Expected', 'Sent', 'Answered', 'Rejected', 'Lost', 'Result')


def format_table(report):
    """The stages as a plain-text table for an operator."""
    rows = []
    for stage in report['stages']:
        computes = sorted(set(stage['computes'].values()))
        rows.append((str(stage['stage']), stage['name'],
                     stage['controllers'] or '-', '/'.join(computes),
                     '%s/%s' % (stage['pins']['api'],
                                stage['pins']['conductor']),
                     stage['expected_pin'], str(stage['sent']),
                     str(stage['answered']), str(stage['rejected']),
                     str(stage['lost']),
                     'ok' if stage['ok'] else 'FAIL: ' +
                     '; '.join(stage['problems'])))
    widths = [max(len(col), *(len(row[i]) for row in rows))
              for i, col in enumerate(COLUMNS)]
    lines = ['  '.join(col.ljust(w) for col, w in zip(COLUMNS, widths))]
    lines.append('  '.join('-' * w for w in widths))
    for row in rows:
        lines.append('  '.join(cell.ljust(w)
                               for cell, w in zip(row, widths)).rstrip())
    verdict = ('PASSED: no message rejected or lost, every pin as expected'
               if report['ok'] else 'FAILED')
    lines.append('')
    lines.append('%s (%s -> %s)' % (verdict, report['releases']['old'],
                                    report['releases']['new']))
    return '\n'.join(lines)
