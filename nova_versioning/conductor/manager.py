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
"""Conductor server side: the versioned-objects indirection endpoint.

Hosts without database access (the computes) call remotable methods of
versioned objects through the conductor. The endpoint runs only remotable
methods of registered objects; anything else is refused with
:class:`ObjectActionNotAllowed`, returned to the caller, never run.
"""

import inspect

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import exception as ovo_exc

from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning import exception
from nova_versioning import manager
from nova_versioning.objects import base as obj_base
from nova_versioning.scheduler import rpcapi as scheduler_rpcapi

LOG = logging.getLogger(__name__)


def _remotable(objclass, name, classmethod_wanted):
    """Whether name is a remotable (class)method of objclass."""
    try:
        static = inspect.getattr_static(objclass, name)
    except AttributeError:
        return False
    if isinstance(static, classmethod) != classmethod_wanted:
        return False
    func = static.__func__ if isinstance(static, classmethod) else static
    # oslo.versionedobjects marks remotable wrappers with original_fn.
    return callable(func) and hasattr(func, 'original_fn')


class ConductorManager(manager.Manager):
    """Endpoint of the conductor RPC API (see conductor.rpcapi)."""

    API_NAME = 'conductor'
    CLIENT_APIS = (compute_rpcapi.ComputeAPI, scheduler_rpcapi.SchedulerAPI)

    # -- indirection API (3.0) ----------------------------------------------

    def _object_class(self, objname, objmethod, object_versions):
        try:
            version = object_versions[objname]
            objclass = obj_base.NovaVersioningObject.obj_class_from_name(
                objname, version)
        except (KeyError, ovo_exc.UnsupportedObjectError,
                ovo_exc.IncompatibleObjectVersion) as exc:
            raise exception.ObjectActionNotAllowed(
                objname=objname, method=objmethod,
                reason='not a registered object (%s)' % exc)
        # The registry of oslo.versionedobjects is shared by every library
        # in the process: run only this project's objects.
        if not issubclass(objclass, obj_base.NovaVersioningObject):
            raise exception.ObjectActionNotAllowed(
                objname=objname, method=objmethod,
                reason='not a nova_versioning object')
        return objclass

    @messaging.expected_exceptions(exception.NovaVersioningException)
    def object_class_action_versions(self, context, objname, objmethod,
                                     object_versions, args, kwargs):
        objclass = self._object_class(objname, objmethod,
                                      object_versions)
        if not _remotable(objclass, objmethod, classmethod_wanted=True):
            raise exception.ObjectActionNotAllowed(
                objname=objname, method=objmethod,
                reason='not a remotable class method')
        result = getattr(objclass, objmethod)(context, *args, **kwargs)
        # Send back what the caller's object versions can read.
        if isinstance(result, ovo_base.VersionedObject):
            return result.obj_to_primitive(
                target_version=object_versions[result.obj_name()],
                version_manifest=object_versions)
        return result

    @messaging.expected_exceptions(exception.NovaVersioningException)
    def object_action(self, context, objinst, objmethod, args, kwargs):
        if not isinstance(objinst, obj_base.NovaVersioningObject):
            raise exception.ObjectActionNotAllowed(
                objname=type(objinst).__name__, method=objmethod,
                reason='not a registered object')
        if not _remotable(type(objinst), objmethod, classmethod_wanted=False):
            raise exception.ObjectActionNotAllowed(
                objname=objinst.obj_name(), method=objmethod,
                reason='not a remotable method')
        before = objinst.obj_clone()
        result = getattr(objinst, objmethod)(*args, **kwargs)
        updates = {}
        for name, field in objinst.fields.items():
            if not objinst.obj_attr_is_set(name):
                continue
            if (not before.obj_attr_is_set(name)
                    or getattr(before, name) != getattr(objinst, name)):
                updates[name] = field.to_primitive(objinst, name,
                                                   getattr(objinst, name))
        updates['obj_what_changed'] = objinst.obj_what_changed()
        return updates, result

    @messaging.expected_exceptions(exception.NovaVersioningException)
    def object_backport_versions(self, context, objinst, object_versions):
        target = object_versions[objinst.obj_name()]
        LOG.debug('Backporting %(obj)s to %(ver)s',
                  {'obj': objinst.obj_name(), 'ver': target})
        return objinst.obj_to_primitive(target_version=target,
                                        version_manifest=object_versions)

    # -- 3.1 / 3.2 ----------------------------------------------------------

    def ping(self, context, payload, trace_id=None):
        return {'service': 'nova-conductor', 'host': self.host,
                'payload': payload, 'trace_id': trace_id,
                'version': str(self.target.version),
                'caps': self.version_caps()}
