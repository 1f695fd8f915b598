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
"""Fleets of sample services: real processes, or services in this process.

Both kinds offer the same operations to the scenario: start a service at a
release (and learn whether it refused to start, with its one-line reason),
stop it, reload it, read what it logged, and ask it over RPC what it
answers.
"""

import contextlib
import logging as std_logging
import os
import signal
import threading

from oslo_config import cfg
import oslo_messaging as messaging

from nova_versioning.compute import manager as compute_manager
from nova_versioning.conductor import manager as conductor_manager
from nova_versioning.conf import database
from nova_versioning.conf import service as service_conf
from nova_versioning.conf import upgrade_levels
from nova_versioning.conf import versioning
from nova_versioning.conf import workarounds
from nova_versioning import context as nv_context
from nova_versioning.grenade import process
from nova_versioning import rpc
from nova_versioning import service

KINDS = {
    'conductor': dict(binary='nova-conductor', topic='conductor',
                      manager_cls=conductor_manager.ConductorManager,
                      control=True),
    'compute': dict(binary='nova-compute', topic='compute',
                    manager_cls=compute_manager.ComputeManager,
                    control=False),
}
PING_VERSION = {'conductor': '3.1', 'compute': '6.0'}
CHECKS_VERSION = {'conductor': '3.0', 'compute': '6.0'}


class StartRefused(Exception):
    """A service refused to start; the message is its one-line reason."""


class Handle(object):
    def __init__(self, kind, host, release, runner):
        self.kind = kind
        self.host = host
        self.release = release
        self.runner = runner
        # How many handled casts were already read (see Fleet.handled).
        self.handled_read = 0
        # (checked, failed) of its object checks already counted.
        self.checks_read = (0, 0)
        # In-process services only: the log lines captured.
        self.log_lines = []


class Fleet(object):
    """What the scenario needs from a fleet; see the two kinds below."""

    #: How reload() tells a service to look at its pins again.
    RELOAD = None

    def __init__(self, transport, upgrade_levels):
        self.transport = transport
        self.upgrade_levels = dict(upgrade_levels)
        self.context = nv_context.get_admin_context()
        self._running = []
        #: {section: {option: value}} every service started gets.
        self.service_config = {}

    def _extra(self, extra):
        merged = {}
        for source in (self.service_config, extra or {}):
            for section, values in source.items():
                merged.setdefault(section, {}).update(values)
        return merged

    def ping(self, handle, timeout=30):
        target = messaging.Target(topic=KINDS[handle.kind]['topic'],
                                  server=handle.host,
                                  version=PING_VERSION[handle.kind])
        client = rpc.get_client(self.transport, target).prepare(
            timeout=timeout)
        return client.call(self.context, 'ping', payload='grenade')

    def caps(self, handle):
        return self.ping(handle)['caps']

    def stop(self, handle):
        handle.runner.stop()
        self._running.remove(handle)

    def close(self):
        # Computes first: in real mode they reach the database through
        # the conductor.
        for handle in sorted(self._running,
                             key=lambda h: h.kind == 'conductor'):
            self.stop(handle)

    def handled(self, handle, timeout=30):
        """Identities of the casts the compute handled since last asked."""
        target = messaging.Target(topic='compute', server=handle.host,
                                  version='6.0')
        client = rpc.get_client(self.transport, target).prepare(
            timeout=timeout)
        ids = client.call(self.context, 'get_handled',
                          start=handle.handled_read)
        handle.handled_read += len(ids)
        return ids

    def object_checks(self, handle, timeout=30):
        """{checked, failed, problems} of the objects handle received."""
        target = messaging.Target(topic=KINDS[handle.kind]['topic'],
                                  server=handle.host,
                                  version=CHECKS_VERSION[handle.kind])
        client = rpc.get_client(self.transport, target).prepare(
            timeout=timeout)
        return client.call(self.context, 'get_object_checks')

    def log_mark(self, handle):
        """A position in the log of handle, for log_since()."""
        raise NotImplementedError()

    def log_since(self, handle, mark):
        """What the service of handle logged after mark, as text."""
        raise NotImplementedError()


def _first_error_line(text, prog):
    prefix = '%s: error: ' % prog
    for line in text.splitlines():
        if line.startswith(prefix):
            return line[len(prefix):]
    return None


class ProcessFleet(Fleet):
    """Real service processes (setsid) on a real broker and database.

    A service's log is its process's log file, <kind>-<host>.log in the
    work directory.

    :param workdir: where configuration files, logs and state go.
    :param db_url: the database every process with database access uses.
    :param transport_url: the broker.
    :param backend: oslo.service backend of the processes.
    """

    RELOAD = 'SIGHUP'

    def __init__(self, workdir, db_url, transport_url, transport,
                 upgrade_levels, backend='threading', report_interval=2):
        super().__init__(transport, upgrade_levels)
        self.workdir = workdir
        self.db_url = db_url
        self.transport_url = transport_url
        self.backend = backend
        self.report_interval = report_interval

    def _config(self, kind, host, release, extra):
        sections = {
            'DEFAULT': {'host': host, 'transport_url': self.transport_url,
                        'report_interval': self.report_interval,
                        'state_path': self.workdir, 'debug': 'false',
                        'rpc_response_timeout': 30},
            'database': {'connection': self.db_url if kind != 'compute'
                         else 'sqlite:////nonexistent/computes-have-no-db',
                         'max_retries': 0},
            'versioning': {'emulated_release': release},
            'upgrade_levels': dict(self.upgrade_levels),
        }
        for section, values in (extra or {}).items():
            sections.setdefault(section, {}).update(values)
        return process.write_config(
            os.path.join(self.workdir, '%s-%s.conf' % (kind, host)),
            sections)

    def start(self, kind, host, release=None, extra=None):
        config = self._config(kind, host, release, self._extra(extra))
        proc = process.ServiceProcess(
            kind, [config], os.path.join(self.workdir,
                                         '%s-%s.log' % (kind, host)),
            env={'NOVA_VERSIONING_SERVICE_BACKEND': self.backend})
        proc.start()
        try:
            proc.wait_for_log(r'nova-%s on %s serving' % (kind, host),
                              timeout=90)
        except AssertionError:
            code = proc.proc.poll()
            proc.stop()
            reason = _first_error_line(proc.read_log(proc.start_offset),
                                       'nova-versioning-%s' % kind)
            if code is not None and reason:
                raise StartRefused(reason)
            raise
        handle = Handle(kind, host, release, proc)
        self._running.append(handle)
        return handle

    def reload(self, handle):
        """SIGHUP, then wait until every pin of the service was decided."""
        proc = handle.runner
        offset = proc.log_size()
        proc.signal(signal.SIGHUP)
        apis = len(KINDS[handle.kind]['manager_cls'].CLIENT_APIS)
        proc.wait_for_log(r'RPC version cap (changed|unchanged|set)|'
                          r'Pin resolution on \w+ failed', timeout=90,
                          start=offset, count=apis)

    def log_mark(self, handle):
        return handle.runner.log_size()

    def log_since(self, handle, mark):
        return handle.runner.read_log(mark)


def private_conf(overrides):
    """A ConfigOpts of its own for one in-process service.

    :param overrides: {(group or None, option): value}.
    """
    conf = cfg.ConfigOpts()
    for module in (database, service_conf, upgrade_levels, versioning,
                   workarounds):
        module.register_opts(conf)
    rpc.prepare_conf(conf)
    conf([], project='nova_versioning', default_config_files=[],
         default_config_dirs=[])
    for (group, name), value in overrides.items():
        conf.set_override(name, value, group=group)
    return conf


class _ThreadCapture(std_logging.Handler):
    """Keeps the records logged by one thread, formatted, in lines."""

    def __init__(self, lines):
        super().__init__(std_logging.INFO)
        self.lines = lines
        self.thread = threading.get_ident()
        self.setFormatter(std_logging.Formatter(
            '%(levelname)s %(name)s %(message)s'))

    def emit(self, record):
        if record.thread == self.thread:
            self.lines.append(self.format(record))


@contextlib.contextmanager
def capture_log(lines):
    """Append to lines what this thread logs (INFO and up) meanwhile."""
    logger = std_logging.getLogger('nova_versioning')
    handler = _ThreadCapture(lines)
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > std_logging.INFO:
        logger.setLevel(std_logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class InProcessFleet(Fleet):
    """Services in this process, on one in-process transport.

    Each service has a configuration of its own, so services of several
    releases run side by side. They share this process's database (the
    computes too: the versioned-objects indirection API is per process).
    A reload is what SIGHUP does on the eventlet backend: the changed
    configuration, then reset(). A service's log is what this process
    logged while starting or reloading it (those run in the caller's
    thread; the service's own threads share loggers with the other
    services, so their records are not told apart).
    """

    RELOAD = 'reset(), what SIGHUP runs on the eventlet backend'

    def _capturing(self, lines, func):
        with capture_log(lines):
            return func()

    def __init__(self, workdir, transport, upgrade_levels,
                 report_interval=1):
        super().__init__(transport, upgrade_levels)
        self.workdir = workdir
        self.report_interval = report_interval

    def start(self, kind, host, release=None, extra=None):
        overrides = {
            (None, 'host'): host,
            (None, 'state_path'): self.workdir,
            (None, 'report_interval'): self.report_interval,
            ('versioning', 'emulated_release'): release,
        }
        for name, value in self.upgrade_levels.items():
            overrides[('upgrade_levels', name)] = value
        for section, values in self._extra(extra).items():
            for name, value in values.items():
                overrides[(section if section != 'DEFAULT' else None,
                           name)] = value
        conf = private_conf(overrides)
        svc = service.RPCService(conf=conf, host=host,
                                 transport=self.transport, **KINDS[kind])
        handle = Handle(kind, host, release, svc)
        try:
            self._capturing(handle.log_lines, svc.prepare)
        except Exception as exc:
            raise StartRefused(str(exc).splitlines()[0])
        self._capturing(handle.log_lines, svc.start)
        self._running.append(handle)
        return handle

    def reload(self, handle):
        self._capturing(handle.log_lines, handle.runner.reset)

    def log_mark(self, handle):
        return len(handle.log_lines)

    def log_since(self, handle, mark):
        return '\n'.join(handle.log_lines[mark:])
