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
"""The machine a run happened on: hardware, servers, software."""

import datetime
import importlib.metadata
import os
import platform
import subprocess

from nova_versioning.bench import common

PACKAGES = ('nova_versioning', 'SQLAlchemy', 'alembic', 'oslo.db',
            'oslo.messaging', 'oslo.service', 'oslo.versionedobjects',
            'oslo.config', 'kombu', 'PyMySQL', 'psycopg2-binary',
            'eventlet', 'cotyledon')


def _cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory():
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemTotal:'):
                    kib = int(line.split()[1])
                    return '%.1f GiB' % (kib / 1024.0 / 1024.0)
    except (OSError, ValueError):
        pass
    return None


def _os():
    try:
        with open('/etc/os-release') as f:
            for line in f:
                if line.startswith('PRETTY_NAME='):
                    return line.split('=', 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


def _packages():
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _git_commit():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        result = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                                cwd=here, capture_output=True, text=True,
                                timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


def _uncommitted():
    """Tracked files changed in the work tree (what the run measured)."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        result = subprocess.run(['git', 'status', '--porcelain',
                                 '--untracked-files=no'], cwd=here,
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line[3:] for line in result.stdout.splitlines() if line[3:]]


def describe(probe_broker=True):
    """dict of what the results depend on (servers filled in later).

    :param probe_broker: ask rabbitmqctl for the broker's version (a
        second or two).
    """
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime(
            '%Y-%m-%d %H:%M UTC'),
        'cpu': _cpu_model(),
        'cores': os.cpu_count(),
        'memory': _memory(),
        'os': _os(),
        'kernel': platform.release(),
        'python': platform.python_version(),
        'packages': _packages(),
        'rabbitmq': common.rabbit_version() if probe_broker else None,
        'load_average_at_start': [round(x, 2) for x in load] if load
        else None,
        'git_commit': _git_commit(),
        'uncommitted': _uncommitted(),
    }
