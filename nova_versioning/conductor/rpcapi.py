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
"""Client side of the sample conductor RPC API.

The conductor serves the versioned-objects indirection API: a service
without database access sets an instance of :class:`ConductorAPI` as
``NovaVersioningObject.indirection_api``, and every remotable method of
an object then runs on a conductor.
"""

from oslo_versionedobjects import base as ovo_base

from nova_versioning.conf import lastgood
from nova_versioning import history as nv_history
from nova_versioning import rpc
from nova_versioning.rpc import client


class ConductorAPI(client.PinnedRPCAPI,
                   ovo_base.VersionedObjectIndirectionAPI):
    """Client side of the conductor RPC API.

    API version history:

    * 3.0 - Initial version: the versioned-objects indirection API
            (object_class_action_versions, object_action,
            object_backport_versions)
    * 3.1 - Adds ping()
    * 3.2 - ping() takes trace_id

    Beside them, every conductor accepts the sample-service methods that
    carry a versioned Task (3.0): task_update(), task_record() and
    dispatch_task(). A Task sent is backported to the object manifest of
    the conductors the cap was decided for; a Task answered newer than
    this release knows is backported by a conductor
    (object_backport_versions) before it is read.

    The indirection calls are all 3.0, which every conductor accepts. They
    can be sent before the first resolve() (BOOTSTRAP_VERSION): resolving
    ``[upgrade_levels]/conductor=auto`` on a host without database access
    reads the minimum conductor version through them.

    A minimum version lookup (what resolving an ``auto`` pin sends) waits
    at most [versioning]/minimum_version_lookup_timeout seconds, so a
    reload while no conductor answers ends in a kept pin, not a long hang;
    every other call waits [DEFAULT]/rpc_response_timeout.
    """

    #: Service class methods that read minimum versions.
    LOOKUPS = frozenset(['get_minimum_version', 'get_minimum_version_multi',
                         'get_minimum_versions',
                         'get_all_at_minimum_version'])

    API_NAME = 'conductor'
    BINARY = 'nova-conductor'
    TOPIC = 'conductor'
    RPC_API_VERSION = '3.2'
    BOOTSTRAP_VERSION = '3.0'
    # Conductors are upgraded first: computes not yet upgraded send to
    # newer conductors in every rolling upgrade, with their own latest
    # version, which newer conductors accept.
    NEWER_RECEIVERS_EXPECTED = True

    # -- versioned-objects indirection (3.0) -------------------------------

    def lookup_timeout(self):
        return lastgood.options(self._conf).get(
            'versioning', 'minimum_version_lookup_timeout')

    def rpc_serializer(self, base=None):
        """Every call declares this caller's code version and host.

        The conductor holds a write of a record's version to it (rule
        "declared code version" in conductor.rules).
        """
        return rpc.DeclaringSerializer(lambda: (
            nv_history.this_service_version(self._conf), self._conf.host),
            base=base)

    def backport_timeout(self):
        return lastgood.options(self._conf).get(
            'versioning', 'object_backport_timeout')

    def backport_object(self, context, primitive, manifest):
        """Ask a conductor for ``primitive`` as ``manifest`` knows it.

        What a service calls when it received an object newer than its
        release reads (the ``object_backport`` of its RPC APIs and
        serializers); waits at most [versioning]/object_backport_timeout
        seconds.
        """
        return self.object_backport_versions(context, primitive, manifest)

    def object_class_action_versions(self, context, objname, objmethod,
                                     object_versions, args, kwargs):
        options = {'version': '3.0'}
        if objname == 'Service' and objmethod in self.LOOKUPS:
            options['timeout'] = self.lookup_timeout()
        cctxt = self.client.prepare(**options)
        return cctxt.call(context, 'object_class_action_versions',
                          objname=objname, objmethod=objmethod,
                          object_versions=object_versions,
                          args=args, kwargs=kwargs)

    def object_action(self, context, objinst, objmethod, args, kwargs):
        cctxt = self.client.prepare(version='3.0')
        return cctxt.call(context, 'object_action', objinst=objinst,
                          objmethod=objmethod, args=args, kwargs=kwargs)

    def object_backport_versions(self, context, objinst, object_versions):
        cctxt = self.client.prepare(version='3.0',
                                    timeout=self.backport_timeout())
        return cctxt.call(context, 'object_backport_versions',
                          objinst=objinst, object_versions=object_versions)

    def object_class_action(self, context, objname, objmethod, objver,
                            args, kwargs):
        # The single-version form is deprecated in oslo.versionedobjects;
        # this API only serves object_class_action_versions.
        raise NotImplementedError('Use object_class_action_versions')

    def object_backport(self, context, objinst, target_version):
        raise NotImplementedError('Use object_backport_versions')

    # -- 3.1 / 3.2 --------------------------------------------------------

    def ping(self, ctxt, payload, trace_id=None):
        """Call: a conductor answers with ``payload`` (3.1).

        trace_id is dropped below 3.2.
        """
        rpc_client = self.client
        kwargs = {'payload': payload}
        if rpc_client.can_send_version('3.2'):
            version = '3.2'
            kwargs['trace_id'] = trace_id
        elif rpc_client.can_send_version('3.1'):
            version = '3.1'
        else:
            raise self._unsupported(rpc_client, 'ping', '3.1')
        cctxt = rpc_client.prepare(version=version)
        return cctxt.call(ctxt, 'ping', **kwargs)

    # -- the sample services' Task (3.0) ----------------------------------

    def task_update(self, ctxt, task):
        """Call: the conductor answers ``task`` as it now stands."""
        cctxt = self.client.prepare(version='3.0')
        return cctxt.call(ctxt, 'task_update', task=task)

    def task_record(self, ctxt, task):
        """Cast: the conductor records ``task``."""
        cctxt = self.client.prepare(version='3.0')
        cctxt.cast(ctxt, 'task_record', task=task)

    def dispatch_task(self, ctxt, host, task, cast=False):
        """Call: the conductor sends ``task`` to the compute on ``host``.

        With cast=False it calls the compute's update_task() and answers
        what the compute answered; with cast=True it casts record_task()
        and answers None once the cast is sent.
        """
        cctxt = self.client.prepare(version='3.0')
        return cctxt.call(ctxt, 'dispatch_task', host=host, task=task,
                          cast=cast)
