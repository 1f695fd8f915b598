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
"""Real Nova for the rolling-upgrade job: virtualenvs, databases, processes.

Two Nova releases run side by side, each from a virtualenv of its own
built from a fully pinned list (``tools/grenade-nova/*-constraints.txt``,
installed with ``--no-deps``: no resolver runs). A virtualenv is built once
and reused while its list is unchanged (a stamp file holds the list's
digest). Both are built at the same time, with ``uv`` when it is there
(the tox env installs it) and pip otherwise.

:class:`Deployment` is one Nova deployment made with Nova's own tools: an
API database and one cell database (fresh MariaDB databases with a random
suffix, dropped at the end), Placement under gunicorn on its own database,
a RabbitMQ virtual host of its own, and Nova's services started as
processes in sessions of their own (setsid) and stopped by process group.
Nothing here imports Nova: Nova runs in its own virtualenvs.
"""

import concurrent.futures
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from nova_versioning.grenade import process

CODE_ROOT = process.CODE_ROOT
# A line saying a Nova service will not start.
FATAL = re.compile(r' (CRITICAL|ERROR) nova(\.service)? ')
TOOLS = os.path.join(CODE_ROOT, 'tools', 'grenade-nova')
STAMP = '.nova-versioning-constraints'
COMMAND_TIMEOUT = 300
BUILD_TIMEOUT = 900


class Release(object):
    """One pinned Nova release.

    :param role: 'old' or 'new'.
    :param name: the release name ('flamingo').
    :param version: the nova package version ('32.2.1').
    """

    def __init__(self, role, name, version):
        self.role = role
        self.name = name
        self.version = version
        self.constraints = os.path.join(TOOLS, '%s-constraints.txt' % role)
        self.venv = None

    def bin(self, name):
        return os.path.join(self.venv, 'bin', name)

    def __repr__(self):
        return 'Nova %s (%s)' % (self.version, self.name.capitalize())


# The releases of the job: N-1 and N (see doc/source/admin/nova-grenade.rst
# for why this pair).
OLD = Release('old', 'flamingo', '32.2.1')
NEW = Release('new', 'gazpacho', '33.0.2')


def _digest(paths):
    digest = hashlib.sha256()
    for path in paths:
        with open(path, 'rb') as f:
            digest.update(f.read())
    return digest.hexdigest()


def _installer():
    """(kind, path) of uv next to this Python or on PATH, else pip."""
    candidates = [os.path.join(os.path.dirname(sys.executable), 'uv'),
                  shutil.which('uv')]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return 'uv', path
    return 'pip', None


def _build_commands(release, extra_editable):
    kind, uv = _installer()
    venv = release.venv
    python = sys.executable
    if kind == 'uv':
        env = {'VIRTUAL_ENV': venv}
        commands = [[uv, 'venv', '--quiet', '--python', python, venv],
                    [uv, 'pip', 'install', '--quiet', '--no-deps',
                     '-r', release.constraints]]
        if extra_editable:
            commands.append([uv, 'pip', 'install', '--quiet', '--no-deps',
                             '-e', extra_editable])
    else:
        env = {}
        pip = os.path.join(venv, 'bin', 'pip')
        commands = [[python, '-m', 'venv', venv],
                    [pip, 'install', '--quiet', '--no-deps',
                     '--disable-pip-version-check', '-r',
                     release.constraints]]
        if extra_editable:
            commands.append([pip, 'install', '--quiet', '--no-deps',
                             '--disable-pip-version-check', '-e',
                             extra_editable])
    return env, commands


def _build_one(release, extra_editable, log):
    stamp = os.path.join(release.venv, STAMP)
    wanted = _digest([release.constraints])
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read().strip() == wanted:
                return 'reused'
    shutil.rmtree(release.venv, ignore_errors=True)
    env, commands = _build_commands(release, extra_editable)
    child_env = dict(os.environ, **env)
    # The project's own build (pbr) needs no git history this way.
    child_env.setdefault('PBR_VERSION', '0.0.0')
    for argv in commands:
        proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, env=child_env,
                              timeout=BUILD_TIMEOUT)
        if proc.returncode:
            raise RuntimeError('building the virtualenv of %r failed: %s '
                               'exited %d (see %s)'
                               % (release, ' '.join(argv[:3]),
                                  proc.returncode, log.name))
    with open(stamp, 'w') as f:
        f.write(wanted + '\n')
    return 'built'


def build_venvs(root, releases, log_dir):
    """Build (or reuse) the virtualenv of each release, concurrently.

    The new release's virtualenv also gets this project (editable, no
    dependencies), so that ``nova-versioning-status`` runs with the newest
    Nova installed, as an operator runs it.

    :returns: {role: 'built' | 'reused'}.
    """
    os.makedirs(root, exist_ok=True)
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(len(releases)) as pool:
        for release in releases:
            release.venv = os.path.join(root, 'nova-%s' % release.version)
            log = open(os.path.join(log_dir, 'venv-%s.log' % release.role),
                       'w')
            editable = CODE_ROOT if release.role == 'new' else None
            jobs[release.role] = (pool.submit(_build_one, release, editable,
                                              log), log)
        result = {}
        for role, (future, log) in jobs.items():
            try:
                result[role] = future.result()
            finally:
                log.close()
    return result


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class NovaProcess(process.ServiceProcess):
    """A process of Nova or Placement, from one of the virtualenvs."""

    def __init__(self, name, argv, log_path, env=None):
        super().__init__(name, [], log_path)
        self.argv = list(argv)
        self.env = dict(os.environ, **(env or {}))
        # Nothing of this project's code on a Nova process's path.
        self.env.pop('PYTHONPATH', None)

    def start(self):
        self._log = open(self.log_path, 'ab')
        self.start_offset = self._log.tell()
        self.proc = subprocess.Popen(self.argv, stdout=self._log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     env=self.env, start_new_session=True,
                                     cwd=os.path.dirname(self.log_path))
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout):
        """The exit code, or None when still running after timeout."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


def _sql_identifier(url):
    return url.rsplit('/', 1)[-1].split('?', 1)[0]


class Deployment(object):
    """One Nova deployment for the job, torn down by :meth:`close`.

    :param workdir: configuration, state and logs.
    :param broker_url: RabbitMQ URL; a virtual host of its own is made.
    :param db_kind: the oslo.db provisioning backend ('mysql').
    """

    SERVICE_READY = 'Join ServiceGroup membership for this service'

    def __init__(self, workdir, broker_url, db_kind='mysql'):
        self.workdir = workdir
        self.broker_url = broker_url
        self.db_kind = db_kind
        self.cleanups = []
        self.processes = {}
        self.urls = {}
        self.transport_url = None
        self.placement_port = None
        self.conf_files = {}

    # -- resources --------------------------------------------------------

    def _databases(self, suffix):
        from oslo_db.sqlalchemy import provision
        backend = provision.Backend.backend_for_database_type(self.db_kind)
        for name in ('api', 'cell1', 'placement'):
            ident = 'nvgn_%s_%s' % (suffix, name)
            backend.create_named_database(ident)
            self.cleanups.append(
                lambda ident=ident: backend.drop_named_database(
                    ident, conditional=True))
            self.urls[name] = backend.provisioned_database_url(
                ident).render_as_string(hide_password=False)
        return self.urls

    def provision(self, suffix):
        """Databases and a RabbitMQ virtual host named after suffix."""
        self._databases(suffix)
        url, drop = process.rabbit_vhost(self.broker_url,
                                         'nvgn_%s' % suffix)
        if drop is not None:
            self.cleanups.append(drop)
        self.transport_url = url

    def close(self):
        """Stop every process started (by process group), drop it all."""
        errors = []
        for proc in list(self.processes.values()):
            try:
                proc.stop(timeout=20)
            except Exception as exc:
                errors.append('stopping %s: %s' % (proc.kind, exc))
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as exc:
                errors.append(str(exc))
        self.cleanups = []
        return errors

    # -- configuration ----------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.workdir, *parts)

    def nova_sections(self, host=None, compute=False, upgrade_levels=None):
        """Sections of a nova.conf for a service of this deployment."""
        sections = {
            'DEFAULT': {
                'transport_url': self.transport_url,
                'debug': 'true',
                'use_stderr': 'true',
                'state_path': self.path('state', host or 'control'),
                'host': host,
                # Short, bounded waits: a message no compute takes is lost
                # in seconds, not after Nova's default minute.
                'rpc_response_timeout': '10',
                'long_rpc_timeout': '20',
                'report_interval': '2',
                # Nova 33's computes otherwise wait up to 180 s for work in
                # progress when stopped.
                'graceful_shutdown_timeout': '5',
                # Nova's own default. A compute upgraded in stage 3 reports
                # first 5 s after it starts, and a report sent while the
                # conductor's worker is respawned (stage 4) may never be
                # answered: 10 s more (Nova logs "Lost connection to
                # nova-conductor for reporting service status" and expects
                # it while a conductor restarts). With 20 s such a compute
                # looked down for a moment, and the conductor skipped it.
                'service_down_time': '60',
            },
            'oslo_concurrency': {'lock_path': self.path('locks')},
            'oslo_messaging_notifications': {'driver': 'noop'},
            'oslo_messaging_rabbit': {'heartbeat_timeout_threshold': '0'},
            'placement': {
                'auth_type': 'admin_token',
                'token': 'admin:admin',
                'endpoint_override': 'http://127.0.0.1:%d'
                                     % (self.placement_port or 0),
            },
            'conductor': {'workers': '1'},
            'upgrade_levels': dict(upgrade_levels or {}),
        }
        if compute:
            sections['DEFAULT'].update({
                # A single node with a stable identity (compute_id in
                # state_path): the other fake drivers make a new node UUID
                # at each start, and a restarted compute refuses to run.
                'compute_driver': 'fake.FakeDriverWithoutFakeNodes',
                'instances_path': self.path('state', host, 'instances'),
                'periodic_interval': '60',
            })
        else:
            sections['api_database'] = {'connection': self.urls['api'],
                                        'max_retries': '0'}
            sections['database'] = {'connection': self.urls['cell1'],
                                    'max_retries': '0'}
        return sections

    def write_conf(self, name, sections):
        os.makedirs(self.path('state'), exist_ok=True)
        for values in sections.values():
            for key in ('state_path', 'instances_path', 'lock_path'):
                if values.get(key):
                    os.makedirs(values[key], exist_ok=True)
        path = process.write_config(self.path(name), sections)
        self.conf_files[name] = path
        return path

    # -- Nova's and Placement's tools -------------------------------------

    def run(self, release, argv, timeout=COMMAND_TIMEOUT, check=True,
            env=None):
        """Run a command of release's virtualenv; (code, out, err)."""
        full_env = dict(os.environ, **(env or {}))
        full_env.pop('PYTHONPATH', None)
        proc = subprocess.run([release.bin(argv[0])] + list(argv[1:]),
                              capture_output=True, text=True,
                              timeout=timeout, cwd=self.workdir,
                              stdin=subprocess.DEVNULL, env=full_env)
        if check and proc.returncode:
            raise RuntimeError('%s exited %d: %s' % (
                ' '.join(argv[:4]), proc.returncode,
                (proc.stderr or proc.stdout).strip()[-2000:]))
        return proc.returncode, proc.stdout, proc.stderr

    def manage(self, release, conf, *args, **kwargs):
        return self.run(release, ['nova-manage', '--config-file', conf]
                        + list(args), **kwargs)

    def start_placement(self, release):
        """Placement under gunicorn (no auth), on its own database."""
        self.placement_port = free_port()
        confdir = self.path('placement')
        os.makedirs(confdir, exist_ok=True)
        process.write_config(os.path.join(confdir, 'placement.conf'), {
            'DEFAULT': {'debug': 'false'},
            'api': {'auth_strategy': 'noauth2'},
            'placement_database': {'connection': self.urls['placement'],
                                   'sync_on_startup': 'true',
                                   'max_retries': '0'},
        })
        proc = NovaProcess(
            'placement',
            [release.bin('gunicorn'), '--no-control-socket', '--workers',
             '1', '--bind', '127.0.0.1:%d' % self.placement_port,
             '--timeout', '60', 'placement.wsgi.api:application'],
            self.path('placement.log'),
            env={'OS_PLACEMENT_CONFIG_DIR': confdir})
        self.processes['placement'] = proc.start()
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(
                        ('127.0.0.1', self.placement_port), timeout=1):
                    break
            except OSError:
                pass
            if not proc.running() or time.monotonic() > deadline:
                raise RuntimeError('Placement did not start: %s'
                                   % proc.read_log()[-2000:])
            time.sleep(0.1)
        return proc

    def start_service(self, release, binary, host, conf, wait=True,
                      timeout=120, threading=False):
        """Start nova-<binary> of release; wait until it serves RPC.

        :param threading: Nova's native threading mode
            (``OS_NOVA_DISABLE_EVENTLET_PATCHING=1``) rather than eventlet.
        """
        name = host if binary == 'compute' else binary
        old = self.processes.get(name)
        if old is not None:
            old.stop()
        env = {'OS_NOVA_DISABLE_EVENTLET_PATCHING': '1'} if threading else {}
        proc = NovaProcess(name, [release.bin('nova-%s' % binary),
                                  '--config-file', conf],
                           self.path('%s.log' % name), env=env)
        proc.release = release
        self.processes[name] = proc.start()
        if wait:
            self.wait_ready(proc, timeout=timeout)
        return proc

    def wait_ready(self, proc, timeout=120, count=1):
        """Wait until proc serves RPC; fail at its first fatal error.

        A Nova service that fails to start can take minutes to exit (its
        launcher waits): its log says so at once.
        """
        deadline = time.monotonic() + timeout
        while True:
            text = proc.read_log(proc.start_offset)
            if text.count(self.SERVICE_READY) >= count:
                return
            fatal = [line for line in text.splitlines()
                     if FATAL.search(line)]
            if fatal or not proc.running():
                raise RuntimeError('%s did not start: %s' % (
                    proc.kind, (fatal or text.splitlines()[-1:] or
                                ['exited'])[0].strip()[-500:]))
            if time.monotonic() > deadline:
                raise RuntimeError('%s did not start in %ss'
                                   % (proc.kind, timeout))
            time.sleep(0.2)

    def stop(self, name):
        proc = self.processes.pop(name, None)
        if proc is not None:
            proc.stop(timeout=30)

    def reload(self, name):
        """SIGHUP to the process (the parent of its workers)."""
        os.kill(self.processes[name].pid, signal.SIGHUP)
