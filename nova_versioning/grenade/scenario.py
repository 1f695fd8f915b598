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
3. computes upgraded one at a time: the pins are checked after each one
   and stay back-levelled, after the last one too, until the controllers
   are told to look again;
4. the controllers are told to look again: SIGHUP to the conductor, which
   must log its compute pin change (``compute RPC version cap changed from
   <old> to <new>``); the runner, which plays the API in its own process,
   re-resolves by a method call (the one a reload runs), not a signal.
   Pins lift to the latest;
5. an ancient compute (older than every other) tries to start: refused
   with a message naming it and the versions, no record written;
6. a forgotten compute record older than the oldest supported release
   blocks a new controller's start, with a message naming it.

The load generator sends to every compute the whole time (paused only for
the host being restarted), and a versioned Task through the conductor to
every compute and back (paused only while the conductor is replaced):
every service checks each Task it receives field by field against what
its release defines, and this runner checks the answers (their version
is the oldest of the releases they went through). Any rejected or lost
message, object that fails its check, unexpected pin or missing refusal
or log line fails the run. A stage that raises (a service
that never starts, an unexpected error) ends the run: the report then
names that stage and the error, after the stages done.
"""

import collections
import time

from oslo_log import log as logging

from nova_versioning.cmd import common as cmd_common
from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning.conductor import rpcapi as conductor_rpcapi
from nova_versioning import context as nv_context
from nova_versioning.db import api as db_api
from nova_versioning.grenade import fleet as nv_fleet
from nova_versioning.grenade import load
from nova_versioning import objects
from nova_versioning.objects import task as task_obj
from nova_versioning.rpc import client as rpc_client
from nova_versioning.rpc import pinning

LOG = logging.getLogger(__name__)

DRAIN_SECONDS = 20
IDLE_SECONDS = 1.0
STAGES = 6
API_RELOAD = ('resolve_all() called in the runner (what a reload runs); '
              'the runner plays the API in its own process and is not '
              'signalled')


class Ledger(object):
    """Every message of the load, counted in the stage it was sent in.

    Calls are settled when sent. A cast is settled by its identity: it is
    answered once a compute reports it handled, whenever that happens,
    and lost until then; so a cast handled late is credited to the stage
    that sent it and a stage's lost is exactly sent - answered - rejected.
    """

    def __init__(self):
        self._stages = collections.OrderedDict()
        self._casts = {}
        self._handled = set()

    def _stage(self, number):
        return self._stages.setdefault(number, {
            'sent': 0, 'answered_calls': 0, 'rejected': 0, 'lost_calls': 0,
            'errors': collections.Counter(), 'objects_checked': 0,
            'object_problems': []})

    def add_checks(self, number, checked, problems):
        """Objects checked (and what was wrong) in stage number."""
        stage = self._stage(number)
        stage['objects_checked'] += checked
        stage['object_problems'].extend(problems)

    def add(self, number, counters):
        """Count a load.HostCounters in stage number."""
        stage = self._stage(number)
        stage['sent'] += counters.sent
        stage['answered_calls'] += counters.answered
        stage['rejected'] += counters.rejected
        stage['lost_calls'] += counters.lost
        stage['errors'].update(counters.errors)
        stage['objects_checked'] += counters.objects_checked
        stage['object_problems'].extend(counters.object_problems)
        for message_id in counters.cast_ids:
            self._casts[message_id] = number

    def handled(self, message_ids):
        """Casts a compute reports handled (in any stage)."""
        self._handled.update(message_ids)

    def unhandled(self, message_ids):
        return [m for m in message_ids if m not in self._handled]

    def totals(self, number):
        """{sent, answered, rejected, lost, errors} of stage number."""
        stage = self._stage(number)
        casts = [m for m, n in self._casts.items() if n == number]
        handled = len(casts) - len(self.unhandled(casts))
        return {'sent': stage['sent'],
                'answered': stage['answered_calls'] + handled,
                'rejected': stage['rejected'],
                'lost': stage['lost_calls'] + len(casts) - handled,
                'errors': dict(stage['errors']),
                'objects_checked': stage['objects_checked'],
                'object_problems': list(stage['object_problems'][:20])}


def describe_levels(levels):
    """How [upgrade_levels] is set, for a stage label."""
    if not levels:
        return 'nothing pinned'
    values = set(levels.values())
    if values == {'auto'}:
        return 'pins auto'
    return 'pins ' + ', '.join('%s=%s' % item for item in sorted(
        levels.items()))


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
        self.ledger = Ledger()
        self._checks = {}
        self._current = None
        self._api = None
        self._conductor_api = None
        self.load = load.LoadGenerator(
            lambda: self._api, self.context,
            objects_api=lambda: self._conductor_api,
            check_answer=self._check_answer)

    # -- helpers ---------------------------------------------------------

    def _controllers_at(self, release):
        """The runner's own API client, as code of release."""
        api = compute_rpcapi.ComputeAPI(self.fleet.transport,
                                        conf=self.make_conf(release))
        api.resolve(self.context)
        conductor = conductor_rpcapi.ConductorAPI(
            self.fleet.transport, conf=self.make_conf(release))
        conductor.resolve(self.context)
        self._api = api
        self._conductor_api = conductor
        self.releases['api'] = release

    def _manifest(self, who):
        """The objects the release of who (a host, or 'api') knows."""
        return self.history.object_manifest(
            self.history.releases[self.releases[who]])

    def _check_answer(self, host, task):
        """Problems of the Task a dispatch through host answered.

        Field by field what this runner's release defines, with nothing
        lost on the way: its version is the oldest of the releases it went
        through (this runner, the conductor and the compute).
        """
        if not isinstance(task, task_obj.Task):
            return ['dispatch_task through %s answered %r'
                    % (host, type(task).__name__)]
        manifest = self._manifest('api')
        problems = task_obj.problems(
            task, task_obj.sample(task.name, 'updated'), manifest,
            release='the runner (%s)' % self.releases['api'])
        expected = min((self._manifest(who)['Task']
                        for who in ('api', 'ctl1', host)),
                       key=task_obj.versionutils.convert_version_to_tuple)
        if task.VERSION != expected:
            problems.append('answer through %s is Task %s, expected %s '
                            '(the oldest release on its way)'
                            % (host, task.VERSION, expected))
        return problems

    def _read_checks(self, host):
        """Count the objects host checked since last asked."""
        handle = self.handles[host]
        try:
            found = self.fleet.object_checks(handle)
        except Exception as exc:
            LOG.warning('Cannot read the object checks of %s: %s', host,
                        exc)
            return
        checked, failed = handle.checks_read
        if found['checked'] < checked:
            # A new worker (a reload on the threading backend respawns it)
            # counts from zero.
            checked, failed = 0, 0
        new_failed = found['failed'] - failed
        problems = (['%s: %s' % (host, line)
                     for line in found['problems'][-new_failed:]]
                    if new_failed > 0 else [])
        self.ledger.add_checks(self._current, found['checked'] - checked,
                               problems)
        handle.checks_read = (found['checked'], found['failed'])

    def _start(self, kind, host, release):
        self.handles[host] = self.fleet.start(kind, host, release=release)
        self.releases[host] = release

    def _read_handled(self, host):
        try:
            self.ledger.handled(self.fleet.handled(self.handles[host]))
        except Exception as exc:
            LOG.warning('Cannot read the casts handled by %s: %s', host,
                        exc)

    def _account(self, host):
        """Drain host: count what it was sent in the current stage."""
        self.load.pause(host)
        counters = self.load.take(host)
        self.ledger.add(self._current, counters)
        self._read_checks(host)
        # Wait until the compute handled every cast sent, or handles no
        # more of them (the rest are lost, unless handled later).
        waiting = counters.cast_ids
        deadline = time.monotonic() + DRAIN_SECONDS
        idle_since = time.monotonic()
        last = None
        while True:
            self._read_handled(host)
            waiting = self.ledger.unhandled(waiting)
            now = time.monotonic()
            if len(waiting) != last:
                last, idle_since = len(waiting), now
            if (not waiting or now > deadline or
                    now - idle_since > IDLE_SECONDS):
                break
            time.sleep(0.1)

    def _account_all(self):
        """Drain every host the load sends to, then let it send again."""
        for host in self.load.hosts():
            self._account(host)
            self.load.resume(host)

    def _run_load(self):
        time.sleep(self.stage_seconds)
        self._account_all()

    def _pins(self, conductor=None):
        """The compute caps: the API's (this runner's) and the conductor's.

        :param conductor: the conductor's caps, when already asked.
        """
        if conductor is None:
            conductor = self.fleet.caps(self.handles['ctl1'])
        return {'api': self._api.decision.cap,
                'conductor': conductor['compute']}

    def _caps(self, pins, conductor):
        """{RPC API: {sender: cap}} of every API the run pins.

        The compute caps are ``pins`` (the API's and the conductor's); the
        conductor cap is the API's (this runner's), the scheduler cap the
        conductor's (from ``conductor``, its caps).
        """
        return {'compute': dict(pins),
                'conductor': {'api': self._conductor_api.decision.cap},
                'scheduler': {'conductor': conductor.get('scheduler')}}

    @staticmethod
    def _pin_problems(pins, expected_cap, when=''):
        return ['%s%s sends at %s, expected %s'
                % (when, who, cap, expected_cap)
                for who, cap in sorted(pins.items()) if cap != expected_cap]

    def _stage(self, name, expected_cap, checks=(), pins=None, **extra):
        number = self._current
        if 'ctl1' in self.handles:
            self._read_checks('ctl1')
        # One question to the conductor for its caps of every API.
        conductor = self.fleet.caps(self.handles['ctl1'])
        pins = pins or self._pins(conductor)
        checks = list(checks) + self._pin_problems(pins, expected_cap)
        self._checks[number] = checks
        stage = {
            'stage': number, 'name': name,
            'controllers': self.releases.get('ctl1'),
            'computes': {h: self.releases[h] for h in self.computes},
            'pins': pins, 'expected_pin': expected_cap,
            'caps': self._caps(pins, conductor),
        }
        stage.update(extra)
        self._settle(stage)
        self.stages.append(stage)
        LOG.info('Stage %(stage)s %(name)s: %(result)s',
                 {'stage': number, 'name': name,
                  'result': '; '.join(stage['problems']) or 'ok'})
        return stage

    def _settle(self, stage):
        """Counts and verdict of stage, from what the ledger knows now."""
        totals = self.ledger.totals(stage['stage'])
        problems = list(self._checks[stage['stage']])
        if totals['rejected']:
            problems.append('%d rejected' % totals['rejected'])
        if totals['lost']:
            problems.append('%d lost' % totals['lost'])
        if totals['object_problems']:
            problems.append('objects not as their receiver\'s release '
                            'defines them: %s'
                            % ' | '.join(totals['object_problems'][:3]))
        elif not totals['objects_checked']:
            problems.append('no object was checked')
        stage.update(totals, problems=problems, ok=not problems)

    # -- stages ----------------------------------------------------------

    def names(self):
        """{stage number: what it does}."""
        return {
            1: 'all services at %s, %s' % (
                self.old, describe_levels(self.fleet.upgrade_levels)),
            2: 'controllers upgraded to %s' % self.new,
            3: 'computes upgraded to %s one at a time' % self.new,
            4: ('SIGHUP to the controllers'
                if self.fleet.RELOAD == 'SIGHUP'
                else 'controllers reloaded in this process'),
            5: 'an ancient (%s) compute tries to start' % self.previous,
            6: 'a forgotten compute older than %s blocks a new '
               'controller' % self.history.oldest_supported,
        }

    def run(self):
        """Run every stage; the report, even when a stage raised."""
        steps = (self._stage1, self._stage2, self._stage3, self._stage4,
                 self._stage5, self._stage6)
        error = None
        try:
            for number, step in enumerate(steps, 1):
                self._current = number
                step()
        except Exception as exc:
            LOG.exception('Stage %s failed', self._current)
            error = {'stage': self._current,
                     'name': self.names()[self._current],
                     'error': '%s: %s' % (type(exc).__name__,
                                          _first_line(exc))}
        finally:
            self.load.stop()
        self._final_sweep()
        if error is not None:
            error.update(self.ledger.totals(error['stage']))
        return self.report(error)

    def _final_sweep(self):
        """Credit the casts handled since their stage was drained."""
        for host in self.computes:
            if host in self.handles:
                self._read_handled(host)

    def report(self, error=None):
        for stage in self.stages:
            self._settle(stage)
        ok = (error is None and len(self.stages) == STAGES and
              all(stage['ok'] for stage in self.stages))
        return {'ok': ok, 'stages': self.stages, 'error': error,
                'releases': {'old': self.old, 'new': self.new}}

    def _stage1(self):
        self._controllers_at(self.old)
        self._start('conductor', 'ctl1', self.old)
        for host in self.computes:
            self._start('compute', host, self.old)
            self.load.add_host(host)
        self._run_load()
        self._stage(self.names()[1], self.old_cap)

    def _stage2(self):
        # The Tasks go through the conductor: none while it is replaced,
        # and none still on its way when it stops (a compute records a
        # Task it was cast by calling the conductor, and a stopping
        # conductor may take that call and never answer it).
        self.load.pause_objects()
        self._account_all()
        self._read_checks('ctl1')
        self.fleet.stop(self.handles['ctl1'])
        self._start('conductor', 'ctl1', self.new)
        self._controllers_at(self.new)
        self.load.resume_objects()
        self._run_load()
        self._stage(self.names()[2], self.old_cap)

    def _stage3(self):
        steps = []
        checks = []
        for host in self.computes:
            self._account(host)
            self.fleet.stop(self.handles[host])
            self._start('compute', host, self.new)
            self.load.resume(host)
            self._run_load()
            pins = self._pins()
            steps.append({'upgraded': host, 'pins': pins})
            checks += self._pin_problems(pins, self.old_cap,
                                         'after upgrading %s: ' % host)
        self._stage(self.names()[3], self.old_cap, checks,
                    pins=steps[-1]['pins'], steps=steps)

    def _stage4(self):
        expected = pinning.changed_message('compute', self.old_cap,
                                           self.latest_cap)
        handle = self.handles['ctl1']
        mark = self.fleet.log_mark(handle)
        # The Tasks go through the conductor: none while it reloads (it
        # keeps serving, but its pins and caches are swapped meanwhile).
        self.load.pause_objects()
        self._read_checks('ctl1')
        try:
            self.fleet.reload(handle)
        finally:
            self.load.resume_objects()
        reloads = {'ctl1': {'how': self.fleet.RELOAD,
                            'logged': _cap_lines(
                                self.fleet.log_since(handle, mark))}}
        lines = []
        with nv_fleet.capture_log(lines):
            rpc_client.PinnedAPIs([self._api]).resolve_all(self.context)
        reloads['api'] = {'how': API_RELOAD,
                          'logged': _cap_lines('\n'.join(lines))}
        checks = []
        for who, reload in sorted(reloads.items()):
            if not any(expected in line for line in reload['logged']):
                checks.append('%s did not log "%s" (logged: %s)'
                              % (who, expected,
                                 ' | '.join(reload['logged']) or 'nothing'))
        self._run_load()
        self._stage(self.names()[4], self.latest_cap, checks,
                    expected_log=expected, reloads=reloads)

    def _stage5(self):
        checks = []
        refusal = None
        try:
            self._start('compute', 'cpu-ancient', self.previous)
            checks.append('the %s compute was allowed to start'
                          % self.previous)
        except nv_fleet.StartRefused as exc:
            refusal = str(exc)
            for word in ('cpu-ancient', '(%s)' % self.previous,
                         'older than the minimum version %s'
                         % self.history.releases[self.new]):
                if word not in refusal:
                    checks.append('refusal does not say %r: %s'
                                  % (word, refusal))
        if objects.Service.get_by_host_and_binary(
                self.context, 'cpu-ancient', 'nova-compute') is not None:
            checks.append('a record was written for cpu-ancient')
        self._run_load()
        self._stage(self.names()[5], self.latest_cap, checks,
                    refusal=refusal)

    def _stage6(self):
        checks = []
        refusal = None
        oldest = self.history.oldest_supported_version
        # Written behind the fleet's back, beside its heartbeats: retried as
        # the Service object's own writes are when SQLite is locked.
        record = db_api.retry_on_conflict(db_api.service_create)(
            self.context, {
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
                refusal = str(exc)
                for word in ('cpu-forgotten', self.history.oldest_supported):
                    # Release names are capitalised in Nova's wording.
                    if word.lower() not in refusal.lower():
                        checks.append('refusal does not say %r: %s'
                                      % (word, refusal))
        finally:
            db_api.retry_on_conflict(db_api.service_destroy)(
                self.context, record.id)
        self._run_load()
        self._stage(self.names()[6], self.latest_cap, checks,
                    refusal=refusal)


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else ''


def _cap_lines(text):
    return [line.strip() for line in text.splitlines()
            if 'compute RPC version cap' in line]


COLUMNS = ('Stage', 'What', 'Controllers', 'Computes', 'Pin API/cond',
           'Expected', 'Sent', 'Answered', 'Rejected', 'Lost', 'Objects',
           'Result')


def format_table(report):
    """The stages as a plain-text table for an operator, then details."""
    rows = []
    for stage in report['stages']:
        computes = sorted(set(stage['computes'].values()))
        rows.append((str(stage['stage']), stage['name'],
                     stage['controllers'] or '-', '/'.join(computes),
                     '%s/%s' % (stage['pins']['api'],
                                stage['pins']['conductor']),
                     stage['expected_pin'], str(stage['sent']),
                     str(stage['answered']), str(stage['rejected']),
                     str(stage['lost']), str(stage.get('objects_checked', 0)),
                     'ok' if stage['ok'] else 'FAIL: ' +
                     '; '.join(stage['problems'])))
    lines = cmd_common.format_table(COLUMNS, rows)
    details = []
    for stage in report['stages']:
        for step in stage.get('steps', ()):
            details.append('Stage %s, after upgrading %s: pins %s/%s'
                           % (stage['stage'], step['upgraded'],
                              step['pins']['api'],
                              step['pins']['conductor']))
        for who, reload in sorted(stage.get('reloads', {}).items()):
            details.append('Stage %s, %s reloaded by %s, logged: %s'
                           % (stage['stage'], who, reload['how'],
                              ' | '.join(reload['logged']) or 'nothing'))
        if 'refusal' in stage:
            details.append('Stage %s refusal: %s'
                           % (stage['stage'], stage['refusal'] or 'none'))
    error = report.get('error')
    if error:
        details.append('Stage %s (%s) did not finish: %s'
                       % (error['stage'], error['name'], error['error']))
    if details:
        lines.append('')
        lines.extend(details)
    verdict = ('PASSED: no message rejected or lost, every object as its '
               'receiver\'s release defines it, every pin as expected'
               if report['ok'] else 'FAILED')
    releases = report.get('releases')
    lines.append('')
    lines.append('%s (%s -> %s)' % (verdict, releases['old'],
                                    releases['new'])
                 if releases else verdict)
    return '\n'.join(lines)
