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
"""Shared main() of the sample services."""

import logging as std_logging
import multiprocessing
import sys
import traceback

import cotyledon
from oslo_log import log as logging
from oslo_service import backend as os_backend
from oslo_service import service as os_service

from nova_versioning.cmd import common
from nova_versioning.cmd import parsers
from nova_versioning import conf as nv_conf
from nova_versioning.db import timeouts
from nova_versioning import objects
from nova_versioning import rpc
from nova_versioning import service

CONF = nv_conf.CONF
LOG = logging.getLogger(__name__)

# cotyledon's worker, on the SIGTERM that stops it.
WORKER_SIGTERM = 'Caught SIGTERM signal, graceful exiting of service'


class ReloadSigtermFilter(std_logging.Filter):
    """Log cotyledon's "Caught SIGTERM signal" of a worker at DEBUG.

    When a service stops, the launching process logs cotyledon's "Caught
    SIGTERM signal, graceful exiting of master process" and passes SIGTERM
    on to its worker, whose own line "Caught SIGTERM signal, graceful
    exiting of service" would say it again; it is kept at DEBUG. (A reload
    never stops the worker: see :class:`ThreadingWorker`.)
    """

    def filter(self, record):
        if (record.levelno == std_logging.INFO and
                str(record.msg).startswith(WORKER_SIGTERM)):
            record.levelno = std_logging.DEBUG
            record.levelname = 'DEBUG'
            return std_logging.getLogger().isEnabledFor(std_logging.DEBUG)
        return True


class ThreadingWorker(cotyledon.Service):
    """The worker process of a service on the threading backend.

    cotyledon's own ``Service.reload()``, which oslo.service's launcher
    keeps, has the worker stop (the RPC server waits up to a second for
    its consumer) so that a new one is forked and connects again: about a
    second from SIGHUP to the new pins, and no server in between. This
    worker reloads in place instead (``RPCService.request_reload``).
    """

    def __init__(self, worker_id, server):
        super().__init__(worker_id)
        self.server = server
        self.name = server.binary

    def run(self):
        try:
            self.server.start()
            self.server.wait()
        except Exception:
            traceback.print_exc()
            sys.exit(1)

    def terminate(self):
        self.server.stop()

    def reload(self):
        self.server.request_reload()


class ThreadingLauncher(object):
    """One worker under a cotyledon ServiceManager, reloaded in place.

    What oslo.service's threading ServiceLauncher does (a forked worker,
    ``[DEFAULT]/graceful_shutdown_timeout``, SIGTERM stops, SIGHUP
    reloads), with :class:`ThreadingWorker`. On SIGHUP the launching
    process only says so and passes the signal on: the worker reads the
    files. Should the worker die, the launching process reads the files
    before it forks the next one, which then starts with the current
    values and the last good pins.
    """

    def __init__(self, conf, server):
        for group, opts in os_service.list_opts():
            conf.register_opts(opts, group=group)
        self.conf = conf
        self.manager = cotyledon.ServiceManager(
            mp_context=multiprocessing.get_context('fork'),
            graceful_shutdown_timeout=conf.graceful_shutdown_timeout)
        self.manager.register_hooks(on_reload=self._announce_reload,
                                    on_dead_worker=self._worker_died)
        self.manager.add(ThreadingWorker, 1, args=(server,))

    @staticmethod
    def _announce_reload():
        LOG.info('Reloading (SIGHUP): configuration files re-read by the '
                 'worker, which resolves every RPC version pin again and '
                 'keeps serving')

    def _worker_died(self, service_id, worker_id, exit_code):
        try:
            self.conf.mutate_config_files()
        except Exception:
            LOG.exception('Could not read the configuration files again; '
                          'the next worker starts with the current values')

    def wait(self):
        try:
            return self.manager.run()
        except SystemExit as exc:
            return exc.code


def serve(prog, argv=None, parsed=False, **service_kwargs):
    """Parse config, prepare (guards, registration), then launch.

    SIGHUP is handled by oslo.service with restart_method='mutate': the
    mutable options, [upgrade_levels] among them, are re-read and every
    pin is resolved again.

    :param parsed: the command line is parsed already (parsers.parse);
        argv is not read again.
    """
    if not parsed:
        parsers.parse(sys.argv if argv is None else argv, prog)
    rpc.set_defaults()
    common.setup(prog)
    objects.register_all()
    server = service.RPCService(conf=CONF, **service_kwargs)
    timeouts.install(CONF)

    def prepare():
        if server.db_access:
            # A database never synced is one line on every backend
            # (PostgreSQL's "relation does not exist" is not one).
            common.check_schema()
        server.prepare()

    common.run(prog, prepare)
    return launch(CONF, server).wait()


def launch(conf, server):
    """The launcher of ``server`` on the chosen oslo.service backend.

    threading: :class:`ThreadingLauncher`; eventlet: oslo.service's own
    (restart_method='mutate'), under :class:`service.SighupGuard`.
    """
    if os_backend.get_backend_type() == os_backend.BackendType.THREADING:
        std_logging.getLogger('cotyledon._service_worker').addFilter(
            ReloadSigtermFilter())
        return ThreadingLauncher(conf, server)
    launcher = os_service.launch(conf, server, restart_method='mutate')
    if service.SighupGuard.applies_to(launcher):
        service.SighupGuard(launcher).apply()
    return launcher
