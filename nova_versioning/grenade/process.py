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
"""Real service processes, for the rolling-upgrade runner and the tests.

Each process is started in its own session (setsid), so that SIGHUP is a
reload for oslo.service and not a terminal hang-up, with its log written
to a file the caller reads. It runs the same nova_versioning code as the
caller: the directory the caller imported it from comes first on the
child's PYTHONPATH.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

import nova_versioning

# The directory holding the nova_versioning package this process runs.
CODE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(
    nova_versioning.__file__)))

MODULES = {
    'conductor': 'nova_versioning.cmd.conductor',
    'compute': 'nova_versioning.cmd.compute',
    'manage': 'nova_versioning.cmd.manage',
}


class ServiceProcess(object):
    """One sample service process.

    :param kind: 'conductor' or 'compute'.
    :param config_files: list of config file paths.
    :param log_path: file receiving stdout and stderr.
    :param env: extra environment variables (for example the backend).
    """

    def __init__(self, kind, config_files, log_path, env=None):
        self.kind = kind
        self.config_files = list(config_files)
        self.log_path = log_path
        self.env = child_env(env)
        self.proc = None
        self._log = None

    def start(self):
        args = [sys.executable, '-m', MODULES[self.kind]]
        for path in self.config_files:
            args += ['--config-file', path]
        self._log = open(self.log_path, 'ab')
        # A process restarted on the same host appends to the same log:
        # what this run logs starts here.
        self.start_offset = self._log.tell()
        self.proc = subprocess.Popen(args, stdout=self._log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     env=self.env, start_new_session=True)
        return self

    def read_log(self, start=0):
        """The log from byte offset start."""
        with open(self.log_path, 'rb') as f:
            f.seek(start)
            return f.read().decode('utf-8', errors='replace')

    def wait_for_log(self, pattern, timeout=60, start=None, count=1):
        """Wait until pattern matched count times after offset start.

        start defaults to where this run of the process began logging.
        """
        if start is None:
            start = self.start_offset
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.read_log(start)
            matches = regex.findall(text)
            if len(matches) >= count:
                return matches
            if self.proc.poll() is not None:
                raise AssertionError(
                    '%s exited with %s before logging %r:\n%s'
                    % (self.kind, self.proc.returncode, pattern,
                       text[-4000:]))
            if time.monotonic() > deadline:
                raise AssertionError(
                    'timed out after %ss waiting for %r in %s log:\n%s'
                    % (timeout, pattern, self.kind, text[-4000:]))
            time.sleep(0.1)

    def log_size(self):
        return os.path.getsize(self.log_path)

    def signal(self, signum):
        os.kill(self.proc.pid, signum)

    def wait(self, timeout=60):
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout=30):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        if self._log is not None:
            self._log.close()
            self._log = None


def child_env(extra=None):
    """This process's environment, for a child running the same code.

    :param extra: variables to add or replace.
    """
    env = dict(os.environ)
    paths = [p for p in env.get('PYTHONPATH', '').split(os.pathsep)
             if p and p != CODE_ROOT]
    env['PYTHONPATH'] = os.pathsep.join([CODE_ROOT] + paths)
    env.update(extra or {})
    return env


def write_config(path, sections):
    """Write {section: {option: value}} as an oslo.config file.

    Options whose value is None are left out.
    """
    with open(path, 'w') as f:
        for section, values in sections.items():
            f.write('[%s]\n' % section)
            for key, value in values.items():
                if value is not None:
                    f.write('%s = %s\n' % (key, value))
    return path


def _rabbitmqctl(*args):
    return subprocess.run(['rabbitmqctl', '-q'] + list(args),
                          capture_output=True, text=True, timeout=60)


def rabbit_vhost(url, name):
    """A fresh RabbitMQ virtual host for url's user, when possible.

    RPC queues are named after their topic and shared by every exchange of
    a virtual host, so runs side by side need a virtual host each.

    :returns: (url of the new virtual host, callable deleting it), or
        (url, None) when rabbitmqctl is not there (a remote broker: the URL
        is used as given).
    :raises RuntimeError: rabbitmqctl is there but fails.
    """
    if not shutil.which('rabbitmqctl'):
        return url, None
    parsed = urllib.parse.urlparse(url)
    created = _rabbitmqctl('add_vhost', name)
    if created.returncode != 0:
        raise RuntimeError('rabbitmqctl add_vhost %s failed: %s'
                           % (name, created.stderr.strip()))

    def drop():
        _rabbitmqctl('delete_vhost', name)

    granted = _rabbitmqctl('set_permissions', '-p', name,
                           parsed.username or 'guest', '.*', '.*', '.*')
    if granted.returncode != 0:
        drop()
        raise RuntimeError('rabbitmqctl set_permissions on %s failed: %s'
                           % (name, granted.stderr.strip()))
    return urllib.parse.urlunparse(parsed._replace(path='/' + name)), drop
