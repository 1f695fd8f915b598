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
"""Compute server side: the sample compute RPC API endpoint.

The endpoint accepts the compute RPC version of the release the process
runs as; a message above it is rejected by oslo.messaging with
UnsupportedVersion, which is what an old compute does to a client that is
not pinned. Every message handled is counted, so a rolling-upgrade run
can prove none was lost.
"""

import collections
import threading
import time

from oslo_log import log as logging

from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning.conductor import rpcapi as conductor_rpcapi
from nova_versioning import manager

LOG = logging.getLogger(__name__)


class ComputeManager(manager.Manager):
    """Endpoint of the compute RPC API (see compute.rpcapi for versions)."""

    API_NAME = 'compute'
    # The conductor client is also the versioned-objects indirection API of
    # a compute (no database access); compute-to-compute calls use the
    # compute client.
    CLIENT_APIS = (conductor_rpcapi.ConductorAPI, compute_rpcapi.ComputeAPI)

    def __init__(self, host=None, service_version=None, conf=None,
                 transport=None):
        super().__init__(host=host, service_version=service_version,
                         conf=conf, transport=transport)
        conductor = self.client_apis.get(
            conductor_rpcapi.ConductorAPI.API_NAME)
        if conductor is not None:
            # An object newer than this release, received as an argument
            # or in an answer, is backported by a conductor (as Nova's
            # computes do).
            self.object_backport = conductor.backport_object
            for api in self.client_apis.values():
                api.object_backport = conductor.backport_object
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self.handled = collections.Counter()
        self.instances = {}
        # Instance of every cast handled, in order: a load generator that
        # gives each cast an instance of its own learns which were handled.
        self._handled_instances = []

    def _count(self, method, **details):
        with self._lock:
            self.handled[method] += 1
        LOG.debug('compute %(host)s handled %(method)s %(details)s',
                  {'host': self.host, 'method': method, 'details': details})

    def ping(self, context, payload, trace_id=None):
        self._count('ping')
        return {'service': 'nova-compute', 'host': self.host,
                'payload': payload, 'trace_id': trace_id,
                'version': str(self.target.version),
                'caps': self.version_caps()}

    def reboot_instance(self, context, instance_uuid, reboot_type='SOFT'):
        self._count('reboot_instance')
        with self._lock:
            self._handled_instances.append(instance_uuid)
            self.instances.setdefault(instance_uuid, []).append(
                'reboot:%s' % reboot_type)

    def get_host_uptime(self, context):
        self._count('get_host_uptime')
        return int(time.monotonic() - self._started)

    def backup_instance(self, context, instance_uuid, name, rotation=None):
        self._count('backup_instance')
        with self._lock:
            self._handled_instances.append(instance_uuid)
            self.instances.setdefault(instance_uuid, []).append(
                'backup:%s:%s' % (name, rotation))

    def update_task(self, context, task):
        """Call (6.0): check ``task``, have a conductor update it.

        The Task received is checked against what this release defines,
        sent to a conductor (task_update), and the conductor's answer
        checked again and answered.
        """
        self._count('update_task')
        self.check_task(task, 'new', 'update_task')
        updated = self._conductor().task_update(context, task)
        return self.check_task(updated, 'updated',
                               'task_update answer of the conductor')

    def record_task(self, context, task):
        """Cast (6.0): check ``task``, pass it on to a conductor.

        The Task goes to a conductor by a call (task_update, whose answer
        is checked) and a cast (task_record); it counts as handled only
        when all of that succeeded.
        """
        self._count('record_task')
        try:
            self.check_task(task, 'new', 'record_task')
            conductor = self._conductor()
            self.check_task(conductor.task_update(context, task), 'updated',
                            'task_update answer of the conductor')
            conductor.task_record(context, task)
        except Exception as exc:
            LOG.error('compute %(host)s could not record task %(name)s: '
                      '%(exc)s', {'host': self.host,
                                  'name': getattr(task, 'name', '?'),
                                  'exc': exc})
            return
        with self._lock:
            self._handled_instances.append(task.name)

    def _conductor(self):
        return self.client_apis[conductor_rpcapi.ConductorAPI.API_NAME]

    def get_stats(self, context):
        """Messages handled per method (any version; for test harnesses)."""
        with self._lock:
            return dict(self.handled)

    def get_handled(self, context, start=0):
        """Instances of the casts handled, from the start-th (harnesses)."""
        with self._lock:
            return self._handled_instances[start:]
