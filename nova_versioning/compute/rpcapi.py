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
"""Client side of the sample compute RPC API."""

from oslo_log import log as logging

from nova_versioning.rpc import client

LOG = logging.getLogger(__name__)


class ComputeAPI(client.PinnedRPCAPI):
    """Client side of the compute RPC API.

    API version history:

    * 6.0 - Initial version: ping(), reboot_instance()
    * 6.1 - Adds get_host_uptime()
    * 6.2 - reboot_instance() takes reboot_type
    * 6.3 - Adds backup_instance()
    * 6.4 - backup_instance() takes rotation
    * 6.5 - ping() takes trace_id

    Beside them, every compute accepts the sample-service methods that
    carry a versioned Task (6.0): update_task() and record_task(). A Task
    is backported to the object manifest of the computes the cap was
    decided for (see PinnedRPCAPI.object_serializer).

    Each method sends the version where its signature last changed, or the
    older one the version cap allows, dropping what the older version
    lacks. A method that cannot keep its meaning on an older peer raises
    UnsupportedRPCFeature instead.
    """

    API_NAME = 'compute'
    BINARY = 'nova-compute'
    TOPIC = 'compute'
    RPC_API_VERSION = '6.5'
    # Computes are upgraded last: a sender older than every compute is a
    # controller left behind by the upgrade, refused (ServiceTooOld).
    NEWER_RECEIVERS_EXPECTED = False

    def ping(self, ctxt, host, payload, trace_id=None):
        """Call: the compute on ``host`` answers with ``payload``.

        trace_id is dropped below 6.5.
        """
        rpc_client = self.client
        if rpc_client.can_send_version('6.5'):
            cctxt = rpc_client.prepare(server=host, version='6.5')
            return cctxt.call(ctxt, 'ping', payload=payload,
                              trace_id=trace_id)
        cctxt = rpc_client.prepare(server=host, version='6.0')
        return cctxt.call(ctxt, 'ping', payload=payload)

    def reboot_instance(self, ctxt, host, instance_uuid, reboot_type='SOFT'):
        """Cast: reboot an instance.

        Below 6.2 a compute only does a soft reboot: reboot_type is
        dropped when it is 'SOFT', and any other type raises
        UnsupportedRPCFeature rather than silently doing a soft reboot.
        """
        rpc_client = self.client
        if rpc_client.can_send_version('6.2'):
            cctxt = rpc_client.prepare(server=host, version='6.2')
            cctxt.cast(ctxt, 'reboot_instance', instance_uuid=instance_uuid,
                       reboot_type=reboot_type)
        elif reboot_type == 'SOFT':
            cctxt = rpc_client.prepare(server=host, version='6.0')
            cctxt.cast(ctxt, 'reboot_instance', instance_uuid=instance_uuid)
        else:
            raise self._unsupported(
                rpc_client, "reboot_instance(reboot_type=%r)" % reboot_type,
                '6.2')

    def get_host_uptime(self, ctxt, host):
        """Call: seconds the compute on ``host`` has been up (6.1)."""
        rpc_client = self.client
        if not rpc_client.can_send_version('6.1'):
            raise self._unsupported(rpc_client, 'get_host_uptime', '6.1')
        cctxt = rpc_client.prepare(server=host, version='6.1')
        return cctxt.call(ctxt, 'get_host_uptime')

    def backup_instance(self, ctxt, host, instance_uuid, name,
                        rotation=None):
        """Cast: back an instance up (6.3); rotation is dropped below 6.4."""
        rpc_client = self.client
        kwargs = {'instance_uuid': instance_uuid, 'name': name}
        if rpc_client.can_send_version('6.4'):
            version = '6.4'
            kwargs['rotation'] = rotation
        elif rpc_client.can_send_version('6.3'):
            version = '6.3'
            if rotation is not None:
                LOG.debug('Dropping rotation=%(rotation)s of backup '
                          '%(name)s: the compute RPC version cap %(cap)s '
                          'is below 6.4',
                          {'rotation': rotation, 'name': name,
                           'cap': rpc_client.version_cap})
        else:
            raise self._unsupported(rpc_client, 'backup_instance', '6.3')
        cctxt = rpc_client.prepare(server=host, version=version)
        cctxt.cast(ctxt, 'backup_instance', **kwargs)

    def update_task(self, ctxt, host, task):
        """Call: the compute on ``host`` updates ``task`` and answers it."""
        cctxt = self.client.prepare(server=host, version='6.0')
        return cctxt.call(ctxt, 'update_task', task=task)

    def record_task(self, ctxt, host, task):
        """Cast: the compute on ``host`` records ``task``."""
        cctxt = self.client.prepare(server=host, version='6.0')
        cctxt.cast(ctxt, 'record_task', task=task)
