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
import sys

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

    On the threading backend a SIGHUP reload restarts the worker: the
    launching process re-reads the configuration and signals its process
    group with SIGHUP, and cotyledon's default ``Service.reload()`` (which
    oslo.service's ServiceWrapper keeps) has the worker send itself
    SIGTERM; the launching process then starts a new worker. The worker's
    INFO line "Caught SIGTERM signal, graceful exiting of service" reads as
    a stop although nobody sent SIGTERM. The launching process says what
    happens in both cases: "Reloading (SIGHUP): ..." for a reload, and
    cotyledon's own "Caught SIGTERM signal, graceful exiting of master
    process" for a stop; the worker's line is kept at DEBUG.
    """

    def filter(self, record):
        if (record.levelno == std_logging.INFO and
                str(record.msg).startswith(WORKER_SIGTERM)):
            record.levelno = std_logging.DEBUG
            record.levelname = 'DEBUG'
            return std_logging.getLogger().isEnabledFor(std_logging.DEBUG)
        return True


def _announce_reload(conf, changed):
    LOG.info('Reloading (SIGHUP): configuration files re-read; the worker '
             'restarts and resolves every RPC version pin again')


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
    if os_backend.get_backend_type() == os_backend.BackendType.THREADING:
        std_logging.getLogger('cotyledon._service_worker').addFilter(
            ReloadSigtermFilter())
        CONF.register_mutate_hook(_announce_reload)
    launcher = os_service.launch(CONF, server, restart_method='mutate')
    if service.SighupGuard.applies_to(launcher):
        service.SighupGuard(launcher).apply()
    return launcher.wait()
