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
"""Base of the RPC endpoints (managers) of the sample services."""

import collections
import threading

from oslo_log import log as logging
import oslo_messaging as messaging

from nova_versioning import conf as nv_conf
from nova_versioning import exception
from nova_versioning import history as nv_history
from nova_versioning.objects import base as obj_base
from nova_versioning.objects import task as task_obj
from nova_versioning import rpc

LOG = logging.getLogger(__name__)

#: How many problems of received objects a manager keeps to report.
_PROBLEMS_KEPT = 100


class Manager(object):
    """An RPC endpoint that accepts the RPC version of its release.

    :param service_version: the service version the process runs as
        (default: this code's, or [versioning]/emulated_release); the
        endpoint accepts the RPC version of API_NAME at that version, so a
        process emulating an older release rejects newer messages exactly
        as that release would.
    :param transport: when given, the manager builds one client of each
        class in CLIENT_APIS on it (the service resolves their pins).
    """

    API_NAME = None
    #: PinnedRPCAPI classes this manager sends through.
    CLIENT_APIS = ()

    def __init__(self, host=None, service_version=None, conf=None,
                 transport=None):
        history = nv_history.get_history(conf)
        if service_version is None:
            service_version = nv_history.this_service_version(conf)
        self.host = host
        self.service_version = service_version
        self.history = history
        self.conf = conf
        self.target = messaging.Target(
            version=history.rpc_version(self.API_NAME, service_version))
        #: The objects this release knows ({name: "X.Y"}), or None.
        self.object_manifest = (
            history.object_manifest(service_version)
            if 0 <= service_version <= history.service_version else None)
        self.release = history.describe(service_version)
        #: Received objects checked, and the problems found (the latest).
        self._checks_lock = threading.Lock()
        self.object_checks = collections.Counter()
        self.object_problems = []
        #: How an object this release cannot read is backported (set by
        #: managers of services without database access).
        self.object_backport = None
        self.client_apis = {}
        if transport is not None:
            for api_cls in self.CLIENT_APIS:
                self.client_apis[api_cls.API_NAME] = api_cls(transport,
                                                             conf=conf)

    def compat_disabled(self):
        conf = self.conf if self.conf is not None else nv_conf.CONF
        return bool(conf.versioning.disable_object_compat)

    def object_serializer(self):
        """Objects as this release knows them, in and out.

        Arguments newer than the release are backported through
        ``object_backport`` (or refused); answers are capped to the
        release's own manifest (this code may know newer versions).
        """
        backport = (None if self.compat_disabled()
                    else self.object_backport)
        return obj_base.ReleaseObjectSerializer(
            send=self.object_manifest, read=self.object_manifest,
            backport=backport, receiver='the caller',
            reader='this service (service version %s)' % self.release,
            scope=nv_history.governed_objects(self.conf))

    def rpc_serializer(self):
        """The serializer of this endpoint's RPC server."""
        return rpc.RequestContextSerializer(base=self.object_serializer())

    # -- the sample services' Task ------------------------------------------

    def check_task(self, task, state, what):
        """Check a Task received field by field; raise on any problem.

        :param state: the state its sender gave it ('new', 'updated').
        :param what: what carried it, for messages.
        :raises ObjectCheckFailed: the object has a version or a field
            this release does not know, or lost a field or a value.
        """
        if isinstance(task, rpc.UnreadableArgument):
            raise task.error
        manifest = self.object_manifest or obj_base.registered_versions()
        if not isinstance(task, task_obj.Task):
            found = ['%s is not a Task' % type(task).__name__]
        else:
            found = task_obj.problems(task, task_obj.sample(task.name,
                                                            state),
                                      manifest, release=self.release)
        with self._checks_lock:
            self.object_checks['checked'] += 1
            if found:
                self.object_checks['failed'] += 1
                self.object_problems.append('%s: %s' % (what,
                                                        '; '.join(found)))
                del self.object_problems[:-_PROBLEMS_KEPT]
        if found:
            LOG.error('%(what)s on %(host)s: %(problems)s',
                      {'what': what, 'host': self.host,
                       'problems': '; '.join(found)})
            raise exception.ObjectCheckFailed(
                objname='Task', who='%s (%s)' % (self.host, self.release),
                problems='; '.join(found))
        return task

    def get_object_checks(self, context):
        """Objects checked and failed, the latest problems (harnesses)."""
        with self._checks_lock:
            return {'checked': self.object_checks['checked'],
                    'failed': self.object_checks['failed'],
                    'problems': list(self.object_problems)}

    def version_caps(self):
        """{api: the version cap its client would send at now}.

        Reads each live client (an auto decision made while no receiver
        was recorded is made again on use, as a send would); None for a
        client never resolved.
        """
        caps = {}
        for name, api in sorted(self.client_apis.items()):
            try:
                caps[name] = api.client.version_cap
            except exception.RPCClientNotResolved:
                caps[name] = None
        return caps
