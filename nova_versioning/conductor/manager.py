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
:class:`ObjectActionNotAllowed`, returned to the caller, never run. Calls
no honest caller sends (malformed arguments, service versions out of
range, writes of a version the caller does not run, destroy) are refused
by the rules of :mod:`nova_versioning.conductor.rules`, each with
:class:`IndirectionRefused` naming the rule, and logged at WARNING with
what the caller's context says about it.
"""

import inspect

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import exception as ovo_exc

from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning.conductor import rules
from nova_versioning.db import api as db_api
from nova_versioning import exception
from nova_versioning import manager
from nova_versioning.objects import base as obj_base
from nova_versioning.objects import service as service_obj
from nova_versioning.objects import task as task_obj
from nova_versioning import rpc
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


#: Default of the endpoint's arguments: refused when not sent.
_MISSING = object()


def _check_sent(refuse, unknown, **arguments):
    missing = sorted(name for name, value in arguments.items()
                     if value is _MISSING)
    if missing:
        raise refuse('well-formed request',
                     'missing argument(s): %s' % ', '.join(missing))
    if unknown:
        raise refuse('well-formed request',
                     'unknown argument(s): %s' % ', '.join(
                         sorted(rules.safe(name) for name in unknown)))


def _caller(context):
    """Who sent a call, as its context says (all of it is declared)."""
    parts = []
    for label, attr in (('host', 'caller_host'),
                        ('service version', 'caller_service_version'),
                        ('request', 'request_id'),
                        ('user', 'user_id'), ('project', 'project_id')):
        value = getattr(context, attr, None)
        if value is not None:
            parts.append('%s %s' % (label, rules.safe(value)))
    return ', '.join(parts) or 'an unidentified caller'


class ConductorManager(manager.Manager):
    """Endpoint of the conductor RPC API (see conductor.rpcapi)."""

    API_NAME = 'conductor'
    CLIENT_APIS = (compute_rpcapi.ComputeAPI, scheduler_rpcapi.SchedulerAPI)

    def __init__(self, host=None, service_version=None, conf=None,
                 transport=None):
        super().__init__(host=host, service_version=service_version,
                         conf=conf, transport=transport)
        self.conf = conf

    def rpc_serializer(self):
        # Arguments that cannot be read are refused here, with the rule.
        return rpc.EndpointSerializer(base=self.object_serializer())

    # -- indirection API (3.0) ----------------------------------------------

    def _refused(self, context, exc):
        """Log a refusal at WARNING, with who asked, and return it."""
        LOG.warning('Refused an indirection call from %(caller)s: '
                    '%(error)s', {'caller': _caller(context), 'error': exc})
        return exc

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
    def object_class_action_versions(self, context, objname=_MISSING,
                                     objmethod=_MISSING,
                                     object_versions=_MISSING,
                                     args=_MISSING, kwargs=_MISSING,
                                     **unknown):
        refuse = rules.Refusal(rules.call_name(objname, objmethod))
        try:
            _check_sent(refuse, unknown, objname=objname,
                        objmethod=objmethod,
                        object_versions=object_versions, args=args,
                        kwargs=kwargs)
            rules.check_names(refuse, objname=objname, objmethod=objmethod)
            rules.check_object_versions(refuse, object_versions)
            rules.check_args(refuse, args, kwargs)
            objclass = self._object_class(objname, objmethod,
                                          object_versions)
            if not _remotable(objclass, objmethod, classmethod_wanted=True):
                raise exception.ObjectActionNotAllowed(
                    objname=objname, method=objmethod,
                    reason='not a remotable class method')
            method = inspect.getattr_static(objclass, objmethod).__func__
            arguments = rules.bind(refuse, method, objclass, context, *args,
                                   **kwargs)
            rules.check_version_arguments(refuse, arguments, self.conf)
        except exception.ObjectActionNotAllowed as exc:
            raise self._refused(context, exc)
        result = getattr(objclass, objmethod)(context, *args, **kwargs)
        # Send back what the caller's object versions can read.
        if isinstance(result, ovo_base.VersionedObject):
            return result.obj_to_primitive(
                target_version=object_versions[result.obj_name()],
                version_manifest=object_versions)
        return result

    @messaging.expected_exceptions(exception.NovaVersioningException)
    def object_action(self, context, objinst=_MISSING, objmethod=_MISSING,
                      args=_MISSING, kwargs=_MISSING, **unknown):
        name = (objinst.obj_name()
                if isinstance(objinst, ovo_base.VersionedObject)
                else type(objinst).__name__)
        refuse = rules.Refusal(rules.call_name(name, objmethod))
        try:
            _check_sent(refuse, unknown, objinst=objinst,
                        objmethod=objmethod, args=args, kwargs=kwargs)
            rules.check_readable(refuse, objinst, what='objinst')
            rules.check_names(refuse, objmethod=objmethod)
            rules.check_args(refuse, args, kwargs)
            if not isinstance(objinst, obj_base.NovaVersioningObject):
                raise exception.ObjectActionNotAllowed(
                    objname=name, method=objmethod,
                    reason='not a registered object')
            if not _remotable(type(objinst), objmethod,
                              classmethod_wanted=False):
                raise exception.ObjectActionNotAllowed(
                    objname=name, method=objmethod,
                    reason='not a remotable method')
            rules.bind(refuse, getattr(type(objinst), objmethod), objinst,
                       *args, **kwargs)
            self._check_object_write(refuse, context, objinst, objmethod)
        except exception.ObjectActionNotAllowed as exc:
            raise self._refused(context, exc)
        before = objinst.obj_clone()
        result = getattr(objinst, objmethod)(*args, **kwargs)
        updates = {}
        for field_name, field in objinst.fields.items():
            if not objinst.obj_attr_is_set(field_name):
                continue
            if (not before.obj_attr_is_set(field_name)
                    or getattr(before, field_name) !=
                    getattr(objinst, field_name)):
                updates[field_name] = field.to_primitive(
                    objinst, field_name, getattr(objinst, field_name))
        updates['obj_what_changed'] = objinst.obj_what_changed()
        return updates, result

    def _check_object_write(self, refuse, context, objinst, objmethod):
        if not isinstance(objinst, service_obj.Service):
            return
        if objmethod == 'destroy':
            raise refuse('no destroy',
                         'records are deleted by an operator '
                         '(nova-versioning-manage service delete), not '
                         'through the conductor')
        if objmethod not in ('_create', '_save'):
            return

        def stored():
            row = db_api.service_get(context, objinst.id)
            return row.host, row.binary

        rules.check_write(
            refuse, context, objinst, objmethod, self.conf,
            stored=stored if objinst.obj_attr_is_set('id') else None)

    @messaging.expected_exceptions(exception.NovaVersioningException)
    def object_backport_versions(self, context, objinst=_MISSING,
                                 object_versions=_MISSING, **unknown):
        self._older_than_object(objinst, object_versions)
        name = (objinst.obj_name()
                if isinstance(objinst, ovo_base.VersionedObject)
                else type(objinst).__name__)
        refuse = rules.Refusal(rules.call_name(name,
                                               'object_backport_versions'))
        try:
            _check_sent(refuse, unknown, objinst=objinst,
                        object_versions=object_versions)
            rules.check_readable(refuse, objinst, what='objinst')
            rules.check_object_versions(refuse, object_versions)
            if not isinstance(objinst, obj_base.NovaVersioningObject):
                raise exception.ObjectActionNotAllowed(
                    objname=name, method='object_backport_versions',
                    reason='not a registered object')
            if objinst.obj_name() not in object_versions:
                raise refuse('well-formed request',
                             'object_versions has no version for %s'
                             % objinst.obj_name())
        except exception.ObjectActionNotAllowed as exc:
            raise self._refused(context, exc)
        name = objinst.obj_name()
        target = object_versions[name]
        if (obj_base.parse_object_version(target) >
                obj_base.parse_object_version(objinst.VERSION)):
            # Never claim a version newer than the object is.
            target = objinst.VERSION
        LOG.debug('Backporting %(obj)s %(have)s to %(ver)s',
                  {'obj': name, 'have': objinst.VERSION, 'ver': target})
        try:
            return objinst.obj_to_primitive(
                target_version=target, version_manifest=object_versions)
        except Exception as exc:
            raise exception.ObjectBackportFailed(
                host=self.host, objname=name, objver=objinst.VERSION,
                target=obj_base.describe_manifest(object_versions),
                reason=str(exc).strip().splitlines()[0])

    def _older_than_object(self, objinst, object_versions):
        """Refuse, clearly, an object newer than this conductor knows."""
        if not (isinstance(objinst, rpc.UnreadableArgument)
                and isinstance(objinst.error,
                               (exception.ObjectVersionTooNew,
                                ovo_exc.IncompatibleObjectVersion))
                and isinstance(objinst.primitive, dict)):
            return
        primitive = objinst.primitive
        name = primitive.get(obj_base.NovaVersioningObject._obj_primitive_key(
            'name'))
        version = primitive.get(
            obj_base.NovaVersioningObject._obj_primitive_key('version'))
        wanted = (object_versions.get(name)
                  if isinstance(object_versions, dict) else None)
        raise exception.ObjectBackportFailed(
            host=self.host, objname=rules.safe(name),
            objver=rules.safe(version), target=rules.safe(wanted),
            reason='this conductor is older than the object (%s); upgrade '
                   'the conductors before the services that send it'
                   % objinst.error)

    # -- the sample services' Task (3.0) ------------------------------------

    def task_update(self, context, task=None):
        """Call: ``task`` as this conductor now has it.

        The answer is a Task this conductor builds at its release's
        version: a service of an older release asks for a backport.
        """
        self.check_task(task, 'new', 'task_update')
        return task_obj.sample(task.name, 'updated')

    def task_record(self, context, task=None):
        """Cast: check and record ``task``."""
        try:
            self.check_task(task, 'new', 'task_record')
        except Exception as exc:
            LOG.error('conductor %(host)s could not record a task: '
                      '%(exc)s', {'host': self.host, 'exc': exc})

    def dispatch_task(self, context, host=None, task=None, cast=False):
        """Call: send ``task`` to the compute on ``host``.

        Through this conductor's compute client, capped to the computes'
        object manifest: update_task() (answered) or, with cast,
        record_task().
        """
        self.check_task(task, 'new', 'dispatch_task')
        compute = self.client_apis[compute_rpcapi.ComputeAPI.API_NAME]
        if cast:
            compute.record_task(context, host, task)
            return None
        answer = compute.update_task(context, host, task)
        return self.check_task(answer, 'updated',
                               'update_task answer of %s' % rules.safe(host))

    # -- 3.1 / 3.2 ----------------------------------------------------------

    def ping(self, context, payload, trace_id=None):
        return {'service': 'nova-conductor', 'host': self.host,
                'payload': payload, 'trace_id': trace_id,
                'version': str(self.target.version),
                'caps': self.version_caps()}
