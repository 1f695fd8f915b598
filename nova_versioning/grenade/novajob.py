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
"""The rolling-upgrade job with real Nova (``--mode nova``).

Nova N-1 -> N (:data:`novaenv.OLD` -> :data:`novaenv.NEW`) with
``[upgrade_levels] compute = auto``, in five stages:

1. the old control plane (nova-conductor) and two old computes;
2. the control plane upgraded: Nova's own ``nova-manage api_db sync`` and
   ``db sync`` of the new release, then the new conductor; computes old;
3. the computes upgraded one at a time;
4. SIGHUP to the conductor: its compute RPC cap lifts to the latest;
5. an ancient (old release) compute tries to start next to the upgraded
   ones and Nova refuses it; a forgotten record older than the oldest
   supported release makes both upgrade checks fail.

Before acting, every stage runs ``nova-versioning-status pins --format
json`` (Nova's history, read from the new release's Nova; ``--assume-
upgraded`` for the what-if of the next step) and both upgrade checks
(this project's and Nova's ``nova-status``); after acting, it sends real
RPC (image pre-cache casts through the conductor to every compute, and
calls from an API process to every compute, see nova_client.py), reads
what Nova logged, and compares. Every message is counted: sent, handled,
rejected, lost.
"""

import concurrent.futures
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from oslo_utils import uuidutils

from nova_versioning.grenade import novacheck
from nova_versioning.grenade import novaenv
from nova_versioning.grenade import svg
from nova_versioning.histories import nova as nova_history

PROG = 'nova-versioning-grenade'
COMPUTES = ('cpu1', 'cpu2')
ANCIENT = 'cpu-ancient'
FORGOTTEN = 'cpu-forgotten'
CASTS = 2
CALLS = 2
BURST_TIMEOUT = 90
CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'nova_client.py')
# What nova-compute logs when Service.create() refuses it (ServiceTooOld).
TOO_OLD = 'older (v'


def venv_root():
    """Where the Nova virtualenvs live: beside this env's Python."""
    root = os.environ.get('NOVA_VERSIONING_NOVA_VENVS')
    if root:
        return root
    if sys.prefix != sys.base_prefix:
        return os.path.join(sys.prefix, 'nova-venvs')
    return os.path.join(os.path.expanduser('~'), '.cache',
                        'nova-versioning', 'nova-venvs')


def _add_counts(into, counts):
    """Add ``counts`` (numbers, or dicts of them) into ``into``, by key."""
    for key, value in counts.items():
        if isinstance(value, dict):
            _add_counts(into.setdefault(key, {}), value)
        else:
            into[key] = into.get(key, 0) + value


class ApiClient(object):
    """nova_client.py in a Nova virtualenv: the job's nova-api."""

    def __init__(self, release, conf, log_path):
        self.release = release
        env = dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING='1')
        env.pop('PYTHONPATH', None)
        self.log_path = log_path
        self._log = open(log_path, 'ab')
        self.proc = subprocess.Popen(
            [release.bin('python'), CLIENT, '--config-file', conf],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            text=True, env=env, start_new_session=True)
        try:
            self._read(120)
        except Exception:
            self.stop()
            raise

    def _read(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise RuntimeError('the API process did not answer in %ss'
                               % timeout)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError('the API process exited (%s)'
                               % self.proc.poll())
        answer = json.loads(line)
        if 'error' in answer:
            raise RuntimeError('API process: %s' % answer['error'])
        return answer

    def ask(self, op, timeout=BURST_TIMEOUT, **kwargs):
        kwargs['op'] = op
        self.proc.stdin.write(json.dumps(kwargs) + '\n')
        self.proc.stdin.flush()
        return self._read(timeout)

    def log(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', errors='replace')

    def stop(self):
        """End the process (its group, if it does not end by itself)."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if not self._log.closed:
            self._log.close()


class NovaJob(object):
    """One run of the job.

    :param workdir: configuration, state and logs.
    :param broker_url: RabbitMQ.
    :param db_kind: oslo.db provisioning backend of the databases.
    :param break_mode: None, or 'overpinned' (the new control plane pins
        ``compute`` to the new release's latest version while computes
        are old) or 'unpinned' (leaves it unset: the same, as Nova reads
        it).
    """

    def __init__(self, workdir, broker_url, db_kind='mysql',
                 break_mode=None):
        self.workdir = workdir
        self.deployment = novaenv.Deployment(workdir, broker_url, db_kind)
        self.break_mode = break_mode
        self.old, self.new = novaenv.OLD, novaenv.NEW
        self.releases = {}
        self.stages = []
        self.timings = {}
        self.client = None
        self.marks = {}
        self.bursts = 0
        self.pending_what_if = None
        self.what_if_problems = []
        self.pins_check = (None, None)

    # -- configuration ----------------------------------------------------

    def _levels(self, release):
        if release is self.new and self.break_mode == 'overpinned':
            return {'compute': self.new_latest}
        if release is self.new and self.break_mode == 'unpinned':
            return {}
        return {'compute': 'auto'}

    def _control_conf(self, release):
        d = self.deployment
        return d.write_conf('control-%s.conf' % release.role,
                            d.nova_sections(
                                upgrade_levels=self._levels(release)))

    def _status_conf(self, release):
        """The project's tools' view of release's control plane."""
        d = self.deployment
        levels = self._levels(release)
        self.status_conf = d.write_conf('status-%s.conf' % release.role, {
            'DEFAULT': {'use_stderr': 'true'},
            'api_database': {'connection': d.urls['api'],
                             'max_retries': '0'},
            'database': {'connection': d.urls['cell1'], 'max_retries': '0'},
            'versioning': {'history_provider': 'nova'},
            'upgrade_levels': {'compute': levels.get('compute')},
        })
        return self.status_conf

    # -- the project's tools and Nova's -----------------------------------

    def _status(self, *args):
        conf = self.status_conf
        code, out, err = self.deployment.run(
            self.new, ['nova-versioning-status', '--config-file', conf]
            + list(args), check=False)
        return code, out, err

    def _pins(self, upgraded=()):
        args = ['pins', '--format', 'json']
        if upgraded:
            args += ['--assume-upgraded', ','.join(upgraded)]
        code, out, err = self._status(*args)
        try:
            return json.loads(out)
        except ValueError:
            raise RuntimeError('pins exited %d without a report: %s'
                               % (code, err.strip()[-1000:]))

    def _our_check(self):
        _code, out, err = self._status('upgrade', 'check', '--json')
        try:
            self.pins_check = novacheck.check_verdict(
                out, novacheck.OURS_PINS)
            return novacheck.check_verdict(out, novacheck.OURS_OLD_COMPUTES)
        except ValueError:
            raise RuntimeError('upgrade check gave no report: %s'
                               % err.strip()[-1000:])

    def _nova_check(self):
        _code, out, err = self.deployment.run(
            self.new, ['nova-status', '--config-file', self.nova_conf,
                       'upgrade', 'check'], check=False)
        try:
            return novacheck.table_verdict(out, novacheck.NOVA_OLD_COMPUTES)
        except ValueError:
            raise RuntimeError('nova-status upgrade check gave no report: '
                               '%s' % (err or out).strip()[-1000:])

    def predict(self, upgraded=(), checks=True):
        """Pins, what-if and both upgrade checks, run side by side.

        :param upgraded: hosts of the what-if (the next step).
        :param checks: also run both upgrade checks.
        :returns: (prediction, {'ours', 'nova', ...} or None).
        """
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            now = pool.submit(self._pins)
            what_if = pool.submit(self._pins, upgraded) if upgraded else None
            if checks:
                ours = pool.submit(self._our_check)
                nova = pool.submit(self._nova_check)
            prediction = novacheck.prediction(
                now.result(), what_if.result() if what_if else None)
            check = None
            if checks:
                check = {'ours': ours.result()[0], 'nova': nova.result()[0],
                         'ours_details': ours.result()[1],
                         'nova_details': nova.result()[1],
                         # This project's own check of the pins (Nova has
                         # none): a warning when a pin is above receivers.
                         'pins': self.pins_check[0],
                         'pins_details': self.pins_check[1]}
        self._check_what_if(prediction)
        return prediction, check

    def _check_what_if(self, prediction):
        """Compare the last step's what-if with what auto says now."""
        pending, self.pending_what_if = self.pending_what_if, None
        if (pending is not None and
                pending['auto_cap'] != prediction['auto_cap']):
            self.what_if_problems.append(
                'what-if "%s upgraded" predicted auto %s; once done, auto '
                'is %s' % (', '.join(pending['upgraded']),
                           pending['auto_cap'], prediction['auto_cap']))
        return pending

    # -- real RPC ---------------------------------------------------------

    def _mark(self):
        self.marks = {name: proc.log_size() for name, proc in
                      self.deployment.processes.items()}

    def _since(self, name):
        proc = self.deployment.processes.get(name)
        if proc is None:
            return ''
        return proc.read_log(self.marks.get(name, proc.start_offset))

    def burst(self):
        """Send a burst of RPC; the counts, from Nova's logs and the API."""
        self.bursts += 1
        tag = 'nvg%d-%s' % (self.bursts, uuidutils.generate_uuid()[:8])
        self._mark()
        answer = self.client.ask('send', tag=tag, hosts=list(COMPUTES),
                                 casts=CASTS, calls=CALLS)
        images = answer['images']
        deadline = time.monotonic() + BURST_TIMEOUT
        while True:
            requests = novacheck.image_requests(self._since('conductor'),
                                                images)
            if all(r['completed'] for r in requests.values()):
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        casts = novacheck.count_casts(requests, len(COMPUTES))
        # Each compute's log of the burst, read once.
        logs = {host: self._since(host) for host in COMPUTES}
        rejected = sum(novacheck.rejections(text) for text in logs.values())
        totals = novacheck.settle(casts, answer['calls'], rejected)
        totals['errors'] = answer['calls']['errors']
        totals['api_cap'] = answer['cap']
        totals['casts'] = casts
        totals['log'] = {}
        if totals['lost'] or totals['rejected']:
            # What the services logged meanwhile: the report (and CI's
            # output) then says why, even once the logs are gone.
            logs['conductor'] = self._since('conductor')
            for name in ('conductor',) + COMPUTES:
                lines = novacheck.noteworthy(logs[name])
                if lines:
                    totals['log'][name] = lines
            # A call the conductor got no answer to: did it reach the host?
            casts['taken'] = {host: novacheck.cache_requests(logs[host])
                              for host in COMPUTES}
        return totals

    # -- stages -----------------------------------------------------------

    def _conductor_cap(self):
        proc = self.deployment.processes['conductor']
        return novacheck.last_cap(proc.read_log(proc.start_offset))

    def _record(self, number, name, prediction, check, totals,
                expected_conductor, extra_problems=(), **extra):
        problems = list(extra_problems) + self.what_if_problems
        self.what_if_problems = []
        conductor_cap = self._conductor_cap()
        configured = prediction['configured']
        if configured == 'auto':
            problems += novacheck.compare_cap(expected_conductor,
                                              conductor_cap, 'nova-conductor')
        # No cap (nothing configured) sends the latest version.
        api_cap = totals['api_cap'] or prediction['latest']
        if api_cap != expected_conductor:
            problems.append('the API process sends at %s, the project '
                            'predicted %s' % (api_cap, expected_conductor))
        problems += novacheck.compare_verdicts(check['ours'], check['nova'])
        if totals['rejected']:
            problems.append('%d rejected' % totals['rejected'])
        if totals['lost']:
            problems.append('%d lost' % totals['lost'])
        conductor_log = self.deployment.processes['conductor']
        stage = {
            'stage': number, 'name': name,
            'controllers': self.releases.get('conductor'),
            'computes': {h: self.releases[h] for h in COMPUTES},
            'prediction': prediction, 'expected_pin': expected_conductor,
            'pins': {'api': totals['api_cap'], 'conductor': conductor_cap},
            'nova_logged': [
                line.strip() for line in conductor_log.read_log(
                    conductor_log.start_offset).splitlines()
                if 'Automatically selected compute RPC' in line][-1:],
            'upgrade_check': check,
            'sent': totals['sent'], 'answered': totals['handled'],
            'handled': totals['handled'], 'rejected': totals['rejected'],
            'lost': totals['lost'], 'errors': totals['errors'],
            'casts': totals.get('casts'), 'log': totals.get('log') or {},
            'problems': problems, 'ok': not problems,
        }
        stage.update(extra)
        self.stages.append(stage)
        return stage

    def setup(self):
        d = self.deployment
        started = time.monotonic()
        built = novaenv.build_venvs(venv_root(), [self.old, self.new],
                                    self.workdir)
        self.timings['venvs'] = round(time.monotonic() - started, 1)
        self.timings['venvs_state'] = built
        self.new_latest = self._latest_cap(self.new)
        d.provision(uuidutils.generate_uuid(dashed=False)[:10])
        d.start_placement(self.new)
        self._status_conf(self.old)
        self.nova_conf = self._control_conf(self.old)
        conf = self.nova_conf
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            jobs = [pool.submit(d.manage, self.old, conf, 'api_db', 'sync'),
                    pool.submit(d.manage, self.old, conf, 'db', 'sync',
                                '--local_cell')]
            for job in jobs:
                job.result()
        d.manage(self.old, conf, 'cell_v2', 'create_cell', '--name',
                 'cell1', '--database_connection', d.urls['cell1'],
                 '--transport-url', d.transport_url)
        self.timings['schema'] = round(time.monotonic() - started, 1)

    def _tables(self, release):
        """Nova's version tables of release, read from its source."""
        return nova_history.read_tables(os.path.join(
            release.venv, 'lib', 'python%d.%d' % sys.version_info[:2],
            'site-packages', 'nova'))

    def _latest_cap(self, release):
        """The newest compute RPC version of release."""
        return self._tables(release)[
            'service_version_history'][-1]['compute_rpc']

    def _start_computes(self, release, hosts):
        d = self.deployment
        procs = []
        for host in hosts:
            conf = d.write_conf('%s.conf' % host,
                                d.nova_sections(host=host, compute=True))
            procs.append(d.start_service(release, 'compute', host, conf,
                                         wait=False))
            self.releases[host] = release.name
        for proc in procs:
            d.wait_ready(proc, timeout=180)

    def stage1(self):
        d = self.deployment
        d.start_service(self.old, 'conductor', None, self.nova_conf,
                        wait=False)
        self.releases['conductor'] = self.old.name
        self._start_computes(self.old, COMPUTES)
        d.wait_ready(d.processes['conductor'], timeout=180)
        d.manage(self.old, self.nova_conf, 'cell_v2', 'discover_hosts')
        self.client = ApiClient(self.old, self.nova_conf,
                                d.path('api.log'))
        # Nova resolves ``auto`` at the first message to a compute: the
        # prediction is made when the fleet is up, before that message.
        prediction, check = self.predict(upgraded=COMPUTES)
        totals = self.burst()
        self._record(1, 'all at %s, compute = %s' % (
            self.old.name, prediction['configured'] or 'unset'),
            prediction, check, totals, prediction['cap'])

    def stage2(self):
        d = self.deployment
        # The new control plane's configuration, read with the new
        # release's rules, before anything changes.
        self._status_conf(self.new)
        prediction, check = self.predict(upgraded=COMPUTES)
        self.client.stop()
        d.stop('conductor')
        self.nova_conf = self._control_conf(self.new)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            jobs = [pool.submit(d.manage, self.new, self.nova_conf,
                                'api_db', 'sync'),
                    pool.submit(d.manage, self.new, self.nova_conf, 'db',
                                'sync', '--local_cell')]
            for job in jobs:
                job.result()
        # Nova's native threading mode: there, SIGHUP respawns the
        # conductor's worker, which resolves ``auto`` again (with eventlet
        # the worker keeps the cap it chose first).
        d.start_service(self.new, 'conductor', None, self.nova_conf,
                        wait=False, threading=True)
        self.releases['conductor'] = self.new.name
        self.client = ApiClient(self.new, self.nova_conf, d.path('api.log'))
        d.wait_ready(d.processes['conductor'], timeout=180)
        totals = self.burst()
        self._record(2, 'control plane upgraded to %s' % self.new.name,
                     prediction, check, totals, prediction['cap'])

    def stage3(self):
        d = self.deployment
        steps = []
        first = None
        expected = None
        totals_all = {'sent': 0, 'handled': 0, 'rejected': 0, 'lost': 0,
                      'errors': {}, 'api_cap': None, 'log': {}, 'casts': {}}
        upgraded = []
        for host in COMPUTES:
            prediction, check = self.predict(upgraded=upgraded + [host],
                                             checks=first is None)
            if first is None:
                first = (prediction, check)
                # The conductor resolved its cap once, at its first call:
                # it keeps it until it is reloaded.
                expected = self._conductor_cap() or prediction['cap']
            d.stop(host)
            self._start_computes(self.new, [host])
            upgraded.append(host)
            # Checked by the next prediction (the next step's, or stage
            # 4's once every compute is upgraded).
            self.pending_what_if = prediction['what_if']
            totals = self.burst()
            for key in ('sent', 'handled', 'rejected', 'lost'):
                totals_all[key] += totals[key]
            _add_counts(totals_all['errors'], totals['errors'])
            _add_counts(totals_all['casts'], totals['casts'])
            for name, lines in totals['log'].items():
                totals_all['log'].setdefault(name, []).extend(lines)
            totals_all['api_cap'] = totals['api_cap']
            steps.append({'upgraded': host,
                          'auto_before': prediction['auto_cap'],
                          'what_if_cap': prediction['what_if']['cap'],
                          'pins': {'api': totals['api_cap'],
                                   'conductor': self._conductor_cap()},
                          'sent': totals['sent'],
                          'handled': totals['handled']})
        self._record(3, 'computes upgraded to %s one by one'
                     % self.new.name, first[0], first[1], totals_all,
                     expected, steps=steps)

    def stage4(self):
        d = self.deployment
        prediction, check = self.predict()
        conductor = d.processes['conductor']
        ready = len(conductor.wait_for_log(d.SERVICE_READY, timeout=5))
        d.reload('conductor')
        # Nova's threading mode respawns the worker: wait until it serves.
        d.wait_ready(conductor, timeout=180, count=ready + 1)
        # nova-api's own SIGHUP forgets its compute client the same way.
        self.client.ask('reset')
        totals = self.burst()
        self._record(4, 'SIGHUP to the conductor', prediction, check,
                     totals, prediction['auto_cap'])

    def stage5(self):
        d = self.deployment
        prediction, check = self.predict()
        problems = []
        conf = d.write_conf('%s.conf' % ANCIENT,
                            d.nova_sections(host=ANCIENT, compute=True))
        proc = d.start_service(self.old, 'compute', ANCIENT, conf,
                               wait=False)
        try:
            proc.wait_for_log(re.escape(TOO_OLD), timeout=120)
        except AssertionError:
            pass
        code = proc.wait_exit(10)
        log = proc.read_log(proc.start_offset)
        refusal = None
        for line in log.splitlines():
            if TOO_OLD in line:
                refusal = line.split('] ', 1)[-1].strip()
                break
        if refusal is None:
            problems.append('the %s compute %s was not refused (exit code '
                            '%s)' % (self.old.name, ANCIENT, code))
        d.stop(ANCIENT)
        totals = self.burst()
        # A forgotten record older than the oldest supported release: both
        # upgrade checks must now fail, and agree.
        record = self.client.ask('record', host=FORGOTTEN,
                                 version=self._oldest_supported() - 1)
        try:
            _pred, forgotten = self.predict()
        finally:
            self.client.ask('destroy', id=record['id'])
        if forgotten['ours'] != 'Failure':
            problems.append('the project\'s upgrade check says %s with a '
                            'forgotten compute too old'
                            % forgotten['ours'])
        problems += novacheck.compare_verdicts(forgotten['ours'],
                                               forgotten['nova'])
        self._record(5, 'an ancient (%s) compute tries to start'
                     % self.old.name, prediction, check, totals,
                     prediction['cap'], problems, refusal=refusal,
                     forgotten_check=forgotten)

    def _oldest_supported(self):
        """The new release's oldest supported compute service version."""
        tables = self._tables(self.new)
        return tables['service_version_aliases'][
            tables['oldest_supported_service_version']]

    # -- the run ------------------------------------------------------------

    def run(self):
        names = {1: 'old control plane and computes',
                 2: 'control plane upgraded', 3: 'computes upgraded',
                 4: 'SIGHUP to the conductor', 5: 'ancient compute'}
        error = None
        started = time.monotonic()
        number = 0
        try:
            self.setup()
            for number, step in enumerate(
                    (self.stage1, self.stage2, self.stage3, self.stage4,
                     self.stage5), 1):
                began = time.monotonic()
                step()
                self.timings['stage%d' % number] = round(
                    time.monotonic() - began, 1)
        except Exception as exc:
            text = str(exc).strip()
            error = {'stage': number, 'name': names.get(number, 'setup'),
                     'error': '%s: %s' % (type(exc).__name__,
                                          text.splitlines()[0]
                                          if text else '')}
            sys.stderr.write('%s: stage %s failed: %s\n'
                             % (PROG, number, text[-3000:]))
        finally:
            if self.client is not None:
                self.client.stop()
            problems = self.deployment.close()
            for problem in problems:
                sys.stderr.write('%s: cleanup: %s\n' % (PROG, problem))
        self.timings['total'] = round(time.monotonic() - started, 1)
        ok = (error is None and len(self.stages) == 5 and
              all(stage['ok'] for stage in self.stages))
        return {'ok': ok, 'mode': 'nova', 'stages': self.stages,
                'error': error, 'timings': self.timings,
                'releases': {'old': repr(self.old), 'new': repr(self.new)}}


def main(conf):
    """Run the job with the CLI's configuration; the exit code."""
    workdir = conf.workdir or tempfile.mkdtemp(prefix='nv-grenade-nova-')
    os.makedirs(workdir, exist_ok=True)
    job = NovaJob(workdir, conf.broker_url, db_kind=conf.db_kind,
                  break_mode=conf['break'])
    report = job.run()
    report['break'] = conf['break']
    kept = conf.workdir or not report['ok']
    if not kept:
        shutil.rmtree(workdir, ignore_errors=True)
    report['workdir'] = workdir if kept else None
    report['timeline'] = svg.path_for(conf.report)
    with open(conf.report, 'w') as f:
        json.dump(report, f, indent=2, sort_keys=True)
    svg.write(report, report['timeline'])
    print(novacheck.format_table(report))
    print('Report written to %s, timeline to %s (%.0f s)'
          % (conf.report, report['timeline'], report['timings']['total']))
    if report['workdir']:
        print('Nova logs and configuration kept in %s' % report['workdir'])
    if report['error'] and report['error']['name'] == 'setup':
        return 2
    return 0 if report['ok'] else 1
