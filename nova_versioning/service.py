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
"""The oslo.service Service of the sample services.

Life of a service process:

1. ``prepare()``, in the launching process before any worker exists:
   every [upgrade_levels] value is validated, a control service checks
   that no counted nova-compute is older than the oldest supported release
   (guard 2), and the service registers its record (guard 1 runs in the
   Service object). Any refusal ends the process with one line naming the
   versions and the fix, before anything is served.
2. ``start()``, in the worker: RPC transport, every pin resolved (the
   threading backend respawns the worker on SIGHUP, so this is also where
   a reload takes effect there), RPC server, heartbeat.
3. ``reset()`` (eventlet backend, SIGHUP with restart_method='mutate'):
   caches cleared and every pin re-resolved in place.
"""

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_service import loopingcall
from oslo_service import service
from oslo_utils import timeutils

from nova_versioning.conductor import rpcapi as conductor_rpcapi
from nova_versioning import conf as nv_conf
from nova_versioning import context as nv_context
from nova_versioning import guards
from nova_versioning import history as nv_history
from nova_versioning import objects
from nova_versioning.objects import base as obj_base
from nova_versioning import rpc
from nova_versioning.rpc import client as rpc_client

LOG = logging.getLogger(__name__)
CONF = nv_conf.CONF


class RPCService(service.Service):
    """Registers, guards, pins its RPC clients and serves its RPC API.

    :param binary: "nova-<name>", the record's binary.
    :param topic: RPC topic the server listens on.
    :param manager_cls: endpoint class (a nova_versioning.manager.Manager).
    :param client_apis: PinnedRPCAPI classes this service sends through;
        each is pinned per [upgrade_levels].
    :param control: a control service, which runs guard 2 at startup.
    :param db_access: False for a service that reaches the database only
        through the conductor (versioned-object indirection).
    """

    def __init__(self, binary, topic, manager_cls, client_apis=(),
                 host=None, conf=None, control=False, db_access=True):
        super().__init__()
        self.conf = conf or CONF
        self.binary = binary
        self.topic = topic
        self.host = host or self.conf.host
        self.manager_cls = manager_cls
        self.client_api_classes = tuple(client_apis)
        self.control = control
        self.db_access = db_access
        self.manager = None
        self.apis = None
        self.record = None
        self._transport = None
        self._server = None
        self._heartbeat = None

    @property
    def history(self):
        return nv_history.get_history(self.conf)

    @property
    def service_version(self):
        return nv_history.this_service_version(self.conf)

    def _context(self):
        return nv_context.get_admin_context()

    # -- launching process --------------------------------------------------

    def prepare(self):
        """Validate, guard and register, before any worker starts.

        :raises: InvalidPin, InvalidRelease, TooOldComputeService,
            ServiceTooOld, database errors: all meant for the operator.
        """
        history = self.history
        rpc_client.validate_pins(self.conf, history,
                                 [cls.API_NAME for cls in
                                  self.client_api_classes])
        LOG.info('%(binary)s on %(host)s runs service version %(version)s',
                 {'binary': self.binary, 'host': self.host,
                  'version': history.describe(self.service_version)})
        transport = None
        if not self.db_access:
            transport = rpc.get_transport(self.conf)
            self._use_conductor(transport)
        try:
            context = self._context()
            if self.control:
                guards.check_oldest_supported_computes(context, self.binary,
                                                       self.conf)
            self.record = self._register(context)
        finally:
            if transport is not None:
                obj_base.NovaVersioningObject.indirection_api = None
                transport.cleanup()

    def _register(self, context):
        record = objects.Service.get_by_host_and_binary(
            context, self.host, self.binary)
        if record is None:
            record = objects.Service(context, host=self.host,
                                     binary=self.binary, topic=self.topic,
                                     report_count=0, disabled=False,
                                     forced_down=False)
            record.create()
            LOG.info('Registered %(binary)s on %(host)s at version %(v)s',
                     {'binary': self.binary, 'host': self.host,
                      'v': record.version})
        else:
            if record.topic != self.topic:
                record.topic = self.topic
            # A save at startup re-registers: this version is written, and
            # the guard refuses a host older than the others of its kind.
            record.save()
            LOG.info('Re-registered %(binary)s on %(host)s at version '
                     '%(v)s', {'binary': self.binary, 'host': self.host,
                               'v': record.version})
        return record

    def _use_conductor(self, transport):
        conductor = conductor_rpcapi.ConductorAPI(transport, conf=self.conf)
        obj_base.NovaVersioningObject.indirection_api = conductor
        return conductor

    # -- worker -------------------------------------------------------------

    def start(self):
        super().start()
        self._transport = rpc.get_transport(self.conf)
        context = self._context()
        self.apis = rpc_client.PinnedAPIs()
        if not self.db_access:
            self.apis.add(self._use_conductor(self._transport))
        for api_cls in self.client_api_classes:
            if self.db_access or api_cls is not conductor_rpcapi.ConductorAPI:
                self.apis.add(api_cls(self._transport, conf=self.conf))
        self.apis.resolve_all(context)
        if self.record is None:
            self.record = objects.Service.get_by_host_and_binary(
                context, self.host, self.binary)
        self.manager = self.manager_cls(host=self.host, conf=self.conf)
        target = messaging.Target(topic=self.topic, server=self.host)
        self._server = rpc.get_server(self._transport, target,
                                      [self.manager])
        self._server.start()
        LOG.info('%(binary)s on %(host)s serving %(topic)s RPC version '
                 '%(version)s', {'binary': self.binary, 'host': self.host,
                                 'topic': self.topic,
                                 'version': self.manager.target.version})
        self._heartbeat = loopingcall.FixedIntervalLoopingCall(
            self._report_state)
        self._heartbeat.start(interval=self.conf.report_interval,
                              initial_delay=self.conf.report_interval)

    def _report_state(self):
        record = self.record
        if record is None:
            return
        try:
            record.report_count += 1
            record.last_seen_up = timeutils.utcnow()
            record.save()
        except Exception as exc:
            # A heartbeat that cannot be written must not stop the service;
            # the record will look stale until the next one succeeds.
            LOG.warning('Heartbeat of %(binary)s on %(host)s failed: '
                        '%(error)s', {'binary': self.binary,
                                      'host': self.host, 'error': exc})
            record.obj_reset_changes(['report_count', 'last_seen_up'])

    def stop(self, graceful=False):
        if self._heartbeat is not None:
            self._heartbeat.stop()
        if self._server is not None:
            try:
                self._server.stop()
                self._server.wait()
            except Exception:
                LOG.exception('Error stopping the RPC server')
        if self._transport is not None:
            self._transport.cleanup()
        obj_base.NovaVersioningObject.indirection_api = None
        super().stop(graceful=graceful)
