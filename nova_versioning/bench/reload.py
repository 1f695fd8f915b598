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
"""Figure 5: from SIGHUP to the new pin in effect, on both backends.

Real processes, started with the process harness of the rolling-upgrade
runner and the functional tests (own session, so SIGHUP is a reload): a
conductor with ``[upgrade_levels]/compute = auto`` and a compute of the
previous release (pike), over RabbitMQ in a private virtual host, on
MariaDB (SQLite when no server is reachable). The compute's record is then
upgraded in the database (version 6 -> 7), the conductor gets SIGHUP, and
the time is taken until its answer to a raw ``ping`` (conductor RPC 3.1)
reports the compute cap 6.5 instead of 6.4. Before each repetition the
record is set back to 6 and the conductor reloaded (not timed).

Baseline: what an operator without a reload would do, restart the
conductor (SIGTERM, start it again) until its ping reports 6.5.
Repetitions alternate between the two.
"""

import contextlib
import datetime
import os
import re
import signal
import time

import oslo_messaging as messaging
from oslo_messaging import conffixture
import sqlalchemy as sa

from nova_versioning.bench import common
from nova_versioning import conf as nv_conf
from nova_versioning import context as nv_context
from nova_versioning import fixtures as nv_fixtures
from nova_versioning.grenade import process
from nova_versioning import rpc

NAME = 'reload'
CONF = nv_conf.CONF
BACKENDS = ('threading', 'eventlet')
DB_PREFERENCE = ('mysql', 'postgresql', 'sqlite')
CONDUCTOR = 'ctl1'
OLD_COMPUTE = 'cpu-old'
CAPS = {6: '6.4', 7: '6.5'}
# A ping lost while a threading worker is replaced is sent again after
# this long; it bounds the error of one measurement.
PING_TIMEOUT = 0.25
WAIT = 120
# Seconds from SIGHUP to "compute RPC version cap changed" in the log
# (median), per backend.
TARGETS = {'threading': 0.5, 'eventlet': 0.05}


class Fleet(object):
    """The conductor and the old compute of one service backend."""

    def __init__(self, backend, tmpdir, url, exchange, db_url):
        self.backend = backend
        self.tmpdir = tmpdir
        self.url = url
        self.exchange = exchange
        self.db_url = db_url
        self.processes = []

    def _config(self, kind, host, release=None, db_access=True):
        sections = {
            'DEFAULT': {'host': host, 'transport_url': self.url,
                        'control_exchange': self.exchange,
                        'report_interval': 1, 'rpc_response_timeout': 20,
                        'state_path': self.tmpdir},
            'database': {'connection': self.db_url if db_access else
                         'sqlite:////nonexistent/no-database-here.sqlite',
                         'max_retries': 0},
            'versioning': {'emulated_release': release},
            'upgrade_levels': {'compute': 'auto', 'conductor': 'auto'},
            'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': 0},
        }
        path = os.path.join(self.tmpdir, '%s-%s-%s.conf'
                            % (self.backend, kind, host))
        with open(path, 'w') as f:
            for section, values in sections.items():
                f.write('[%s]\n' % section)
                for key, value in values.items():
                    if value is not None:
                        f.write('%s = %s\n' % (key, value))
        return path

    def start(self, kind, host, release=None):
        config = self._config(kind, host, release=release,
                              db_access=(kind != 'compute'))
        proc = process.ServiceProcess(
            kind, [config], os.path.join(self.tmpdir, '%s-%s-%s.log'
                                         % (self.backend, kind, host)),
            env={'NOVA_VERSIONING_SERVICE_BACKEND': self.backend})
        self.processes.append(proc.start())
        proc.wait_for_log(r'nova-%s on %s serving' % (kind, host),
                          timeout=WAIT)
        return proc

    def stop(self, proc):
        proc.stop()
        self.processes.remove(proc)

    def stop_all(self):
        # Computes first: they reach the database through the conductor.
        for proc in sorted(self.processes,
                           key=lambda p: p.kind == 'conductor'):
            proc.stop()
        self.processes = []


class Measure(object):
    """Record updates and pings from the benchmark process."""

    def __init__(self, transport, engine):
        self.context = nv_context.get_admin_context()
        self.engine = engine
        target = messaging.Target(topic='conductor', server=CONDUCTOR,
                                  version='3.1')
        self.client = rpc.get_client(transport, target).prepare(
            timeout=PING_TIMEOUT)

    def set_version(self, version):
        services = sa.table('services', sa.column('host'),
                            sa.column('binary'), sa.column('deleted'),
                            sa.column('version'))
        with self.engine.begin() as conn:
            conn.execute(services.update().where(
                services.c.host == OLD_COMPUTE,
                services.c.binary == 'nova-compute',
                services.c.deleted == 0).values(version=version))

    def cap(self):
        try:
            return self.client.call(self.context, 'ping',
                                    payload='caps')['caps']['compute']
        except messaging.MessagingTimeout:
            return None

    def wait_for_cap(self, expected, timeout=WAIT):
        """Poll until the conductor answers expected; the time it did."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = self.cap()
            if last == expected:
                return time.monotonic()
            if time.monotonic() > deadline:
                raise RuntimeError('the conductor still answers compute cap '
                                   '%s after %ss, expected %s'
                                   % (last, timeout, expected))
            time.sleep(0.005)


# The last line a reload logs: every API resolved (resolve_all goes through
# compute, then scheduler).
RELOADED = r'scheduler RPC version cap (unchanged at|changed from|set to)'


def _sighup(conductor):
    """SIGHUP; returns the log offset the reload logs from."""
    offset = conductor.log_size()
    conductor.signal(signal.SIGHUP)
    return offset


def _settle(conductor, measure, version):
    """Untimed: the record at version, the conductor reloaded with it.

    Waits for the reload to finish logging: a second SIGHUP during a
    reload kills an eventlet service (see doc/source/benchmarks.rst).
    """
    measure.set_version(version)
    offset = _sighup(conductor)
    conductor.wait_for_log(RELOADED, timeout=WAIT, start=offset)
    measure.wait_for_cap(CAPS[version])


CHANGED = (r'(?m)^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) .*compute RPC '
           r'version cap changed from 6\.4 to 6\.5')


def _logged_at(conductor, offset):
    """Wall-clock time of the 'changed from 6.4 to 6.5' log line."""
    match = re.search(CHANGED, conductor.read_log(offset))
    if not match:
        return None
    stamp = datetime.datetime.strptime(match.group(1),
                                       '%Y-%m-%d %H:%M:%S.%f')
    return time.mktime(stamp.timetuple()) + stamp.microsecond / 1e6


def _reload_rep(fleet, conductor, measure, logged):
    _settle(conductor, measure, 6)
    measure.set_version(7)
    wall = time.time()
    t0 = time.monotonic()
    offset = _sighup(conductor)
    seconds = measure.wait_for_cap(CAPS[7]) - t0
    conductor.wait_for_log(RELOADED, timeout=WAIT, start=offset)
    at = _logged_at(conductor, offset)
    if at is not None:
        logged.append(at - wall)
    return seconds, conductor


def _restart_rep(fleet, conductor, measure, logged):
    _settle(conductor, measure, 6)
    measure.set_version(7)
    t0 = time.monotonic()
    fleet.stop(conductor)
    conductor = fleet.start('conductor', CONDUCTOR)
    return measure.wait_for_cap(CAPS[7]) - t0, conductor


def _measure_backend(figure, backend, profile, url, exchange, db, transport,
                     tmpdir):
    fleet = Fleet(backend, tmpdir, url, exchange, db.url)
    samples = {'reload': [], 'restart': []}
    logged = []
    try:
        conductor = fleet.start('conductor', CONDUCTOR)
        fleet.start('compute', OLD_COMPUTE, release='pike')
        measure = Measure(transport, db.engine)
        measure.wait_for_cap(CAPS[6])
        for rep in range(profile.reload_reps):
            order = (('reload', _reload_rep), ('restart', _restart_rep))
            if rep % 2:
                order = order[::-1]
            for name, fn in order:
                seconds, conductor = fn(fleet, conductor, measure, logged)
                samples[name].append(seconds)
                common.progress('reload %s %s: %.2f s', backend, name,
                                seconds)
    except Exception:
        for proc in fleet.processes:
            common.progress('reload %s: last lines of the %s log:\n%s',
                            backend, proc.kind, proc.read_log()[-6000:])
        raise
    finally:
        fleet.stop_all()
    ours = common.summarize(samples['reload'])
    base = common.summarize(samples['restart'])
    figure.add(case='%s backend: SIGHUP to new cap' % backend,
               unit='s', ours=ours['median'], ours_p95=ours['p95'],
               baseline=base['median'], baseline_p95=base['p95'],
               ratio=common.speedup(ours['median'], base['median']),
               ratio_text='x faster', backend=backend,
               samples_ours=samples['reload'],
               samples_baseline=samples['restart'],
               pin_logged_after=logged)
    if logged:
        pinned = common.summarize(logged)
        target = TARGETS[backend]
        figure.add(case='%s backend: SIGHUP to the new pin logged' % backend,
                   unit='s', ours=pinned['median'], ours_p95=pinned['p95'],
                   baseline=base['median'], baseline_p95=base['p95'],
                   ratio=common.speedup(pinned['median'], base['median']),
                   ratio_text='x faster', target='<= %g s' % target,
                   met=pinned['median'] <= target, backend=backend)
        figure.notes.append(
            '%s backend: the conductor logged "compute RPC version cap '
            'changed from 6.4 to 6.5" %.3f s (median) after SIGHUP (from '
            'its log timestamps).' % (backend, common.summarize(
                logged)['median']))


@contextlib.contextmanager
def _rabbit():
    with contextlib.ExitStack() as stack:
        url, exchange = stack.enter_context(common.rabbit_vhost())
        messaging_conf = conffixture.ConfFixture(CONF)
        messaging_conf.setUp()
        stack.callback(messaging_conf.cleanUp)
        messaging_conf.transport_url = url
        CONF.set_override('control_exchange', exchange)
        stack.callback(CONF.clear_override, 'control_exchange')
        transport = rpc.get_transport(CONF)
        stack.callback(transport.cleanup)
        yield url, exchange, transport


def run(profile, backends, tmpdir):
    figure = common.Figure(
        NAME, 'Reload',
        'Seconds from SIGHUP to the conductor answering with the new '
        'compute cap (6.4 -> 6.5 after the last pike compute record is '
        'upgraded), %d repetitions per oslo.service backend; the median '
        '(p50) and p95 of each. Real conductor and compute '
        'processes over RabbitMQ; pings time out after %g s, which '
        'bounds the error of one sample.' % (profile.reload_reps,
                                             PING_TIMEOUT),
        'Restarting the conductor (SIGTERM, start again) until it answers '
        'with the new cap.',
        'from SIGHUP to the new pin logged, median: threading <= %g s, '
        'eventlet <= %g s' % (TARGETS['threading'], TARGETS['eventlet']))
    db_backend = common.choose_database(DB_PREFERENCE, backends, tmpdir,
                                        figure)
    figure.details['database'] = common.BACKEND_LABELS[db_backend]
    with _rabbit() as (url, exchange, transport):
        for backend in BACKENDS:
            # A fresh database per backend: no record left by the other.
            with common.provisioned_database(db_backend, tmpdir) as db_url:
                db = nv_fixtures.Database(connection=db_url)
                db.setUp()
                try:
                    figure.details['servers'] = {
                        db_backend: common.server_version(db.engine)}
                    workdir = os.path.join(tmpdir, 'reload-' + backend)
                    os.makedirs(workdir)
                    _measure_backend(figure, backend, profile, url,
                                     exchange, db, transport, workdir)
                finally:
                    db.cleanUp()
    return figure
