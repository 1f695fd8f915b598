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
"""The conductor endpoint: versioned-objects indirection in one process.

A ConductorManager is served on fake:// and the objects' indirection API
is a ConductorAPI on the same transport, so every remotable call made by
the test goes through a real RPC round trip to the endpoint, which runs it
on the test's SQLite database.
"""

import threading

from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields
from oslo_versionedobjects import fixture as ovo_fixture

from nova_versioning.conductor import manager
from nova_versioning.conductor import rpcapi
from nova_versioning.db import api as db_api
from nova_versioning import exception
from nova_versioning import fixtures as nv_fixtures
from nova_versioning import objects
from nova_versioning.objects import base as objects_base
from nova_versioning.objects import service as service_obj
from nova_versioning.tests import base
from nova_versioning.tests.unit.rpc import fakes

NOT_ALLOWED = ('Refusing to run %s through the conductor: %s. Only '
               'remotable methods of registered objects can be called '
               'remotely.')


class CountingConductor(manager.ConductorManager):
    """The real endpoint, recording each indirection call it receives."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def object_class_action_versions(self, context, **kwargs):
        self.calls.append(('object_class_action_versions',
                           kwargs.get('objname'), kwargs.get('objmethod')))
        return super().object_class_action_versions(context, **kwargs)

    def object_action(self, context, **kwargs):
        objinst = kwargs.get('objinst')
        name = (objinst.obj_name() if hasattr(objinst, 'obj_name')
                else type(objinst).__name__)
        self.calls.append(('object_action', name, kwargs.get('objmethod')))
        return super().object_action(context, **kwargs)

    def object_backport_versions(self, context, objinst=None,
                                 object_versions=None):
        self.calls.append(('object_backport_versions', objinst.obj_name(),
                           dict(object_versions)))
        return super().object_backport_versions(context, objinst,
                                                object_versions)


class CallerOnlyIndirection(object):
    """The indirection API, as seen from the thread that created it only.

    In a deployment the conductor runs in a process whose objects have no
    indirection API. Here both ends share one process, and
    oslo.versionedobjects tests ``if cls.indirection_api:``: the endpoint's
    threads must see it false, or the conductor forwards every call to
    itself again, forever.
    """

    def __init__(self, api):
        self.api = api
        self._thread = threading.get_ident()

    def __bool__(self):
        return threading.get_ident() == self._thread

    def __getattr__(self, name):
        return getattr(self.api, name)


@objects_base.NovaVersioningObjectRegistry.register_if(False)
class Widget(objects_base.NovaVersioningObject):
    """A test object at 1.1, which added ``colour`` to 1.0."""

    # Version 1.0: Initial version
    # Version 1.1: Added colour
    VERSION = '1.1'

    fields = {
        'name': fields.StringField(),
        'colour': fields.StringField(nullable=True),
    }

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        if target_version == '1.0':
            primitive.pop('colour', None)


class Foreign(ovo_base.VersionedObject):
    """A versioned object of another project sharing the process."""

    VERSION = '1.0'
    fields = {'name': fields.StringField()}
    ran = []

    @classmethod
    @ovo_base.remotable
    def touch(cls, context, name):
        cls.ran.append(name)
        return name


def rows(context):
    """Every row, deleted ones too, straight from the database."""
    return sorted(
        (row.host, row.binary, row.topic, row.version, row.report_count,
         bool(row.deleted))
        for row in db_api.service_get_all(context, include_deleted=True))


class _ConductorTestCase(base.DBTestCase):

    def setUp(self):
        super().setUp()
        transport = self.useFixture(fakes.FakeTransport(self.conf)).transport
        self.conductor = CountingConductor(host='cond1', conf=self.conf)
        self.useFixture(fakes.Server(transport, 'conductor', self.conductor,
                                     server='cond1'))
        self.api = rpcapi.ConductorAPI(transport, conf=self.conf)

    def indirect(self):
        """From now on remotable methods go through the conductor."""
        base_cls = objects_base.NovaVersioningObject
        self.assertIsNone(base_cls.indirection_api)
        self.addCleanup(setattr, base_cls, 'indirection_api', None)
        base_cls.indirection_api = CallerOnlyIndirection(self.api)

    def record(self, host, binary='nova-compute', release=None):
        """A record written without the conductor."""
        service = objects.Service(self.context, host=host, binary=binary,
                                  topic=binary[5:], report_count=0,
                                  disabled=False, forced_down=False)
        if release is None:
            service.create()
        else:
            with nv_fixtures.OlderRelease(release, conf=self.conf):
                service.create()
        return service


class TestIndirection(_ConductorTestCase):
    """Remotable calls of Service objects, through the conductor."""

    def test_create(self):
        self.indirect()
        service = objects.Service(self.context, host='c1',
                                  binary='nova-compute', topic='compute',
                                  report_count=0, disabled=False,
                                  forced_down=False)
        service.create()
        self.assertEqual([('object_action', 'Service', '_create')],
                         self.conductor.calls)
        # The updates made by the conductor are applied to our object.
        self.assertEqual((7, 'c1', set()),
                         (service.version, service.host,
                          service.obj_what_changed()))
        self.assertIsInstance(service.id, int)
        self.assertEqual([('c1', 'nova-compute', 'compute', 7, 0, False)],
                         rows(self.context))

    def test_get_minimum_version(self):
        self.record('c1', release='pike')
        self.record('c2')
        self.indirect()
        self.assertEqual(6, objects.Service.get_minimum_version(
            self.context, 'nova-compute'))
        self.assertEqual(0, objects.Service.get_minimum_version(
            self.context, 'nova-scheduler'))
        self.assertEqual(
            [('object_class_action_versions', 'Service',
              'get_minimum_version')] * 2,
            self.conductor.calls)

    def test_fresh_minimum_read_skips_the_conductor_cache(self):
        pike = self.record('c1', release='pike')
        self.indirect()
        self.assertEqual(6, objects.Service.get_minimum_version(
            self.context, 'nova-compute'))
        # Upgraded behind the conductor's cache.
        db_api.service_update(self.context, pike.id, {'version': 7})
        self.assertEqual(6, objects.Service.get_minimum_version(
            self.context, 'nova-compute'))
        self.assertEqual(7, objects.Service.get_minimum_version(
            self.context, 'nova-compute', fresh=True))
        self.assertEqual({'nova-compute': 7, 'nova-scheduler': 0},
                         objects.Service.get_minimum_versions(
                             self.context, ['nova-compute',
                                            'nova-scheduler'], fresh=True))
        self.assertEqual(
            [('object_class_action_versions', 'Service',
              'get_minimum_version')] * 3 +
            [('object_class_action_versions', 'Service',
              'get_minimum_versions')],
            self.conductor.calls)

    def test_get_by_host_and_binary(self):
        created = self.record('c1', release='ocata')
        self.indirect()
        found = objects.Service.get_by_host_and_binary(
            self.context, 'c1', 'nova-compute')
        self.assertIsInstance(found, objects.Service)
        self.assertEqual(
            (created.id, created.uuid, 'c1', 'nova-compute', 'compute', 5,
             0, set()),
            (found.id, found.uuid, found.host, found.binary, found.topic,
             found.version, found.report_count, found.obj_what_changed()))
        # The object is usable for a later remotable call.
        self.assertIs(self.context, found._context)
        self.assertIsNone(objects.Service.get_by_host_and_binary(
            self.context, 'nowhere', 'nova-compute'))
        self.assertEqual(
            [('object_class_action_versions', 'Service',
              'get_by_host_and_binary')] * 2,
            self.conductor.calls)

    def test_heartbeat_save(self):
        self.record('c1', release='pike')
        self.indirect()
        service = objects.Service.get_by_host_and_binary(
            self.context, 'c1', 'nova-compute')
        service.report_count += 1
        service.save()
        self.assertEqual(
            [('object_class_action_versions', 'Service',
              'get_by_host_and_binary'),
             ('object_action', 'Service', '_save')],
            self.conductor.calls)
        self.assertEqual((1, set()), (service.report_count,
                                      service.obj_what_changed()))
        # A heartbeat keeps the recorded version of the pike record.
        self.assertEqual([('c1', 'nova-compute', 'compute', 6, 1, False)],
                         rows(self.context))

    def test_destroy_is_refused(self):
        self.record('c1')
        self.indirect()
        service = objects.Service.get_by_host_and_binary(
            self.context, 'c1', 'nova-compute')
        exc = self.assertRaises(exception.IndirectionRefused,
                                service.destroy)
        self.assertEqual(
            'Refusing Service.destroy through the conductor (rule: no '
            'destroy): records are deleted by an operator '
            '(nova-versioning-manage service delete), not through the '
            'conductor.', str(exc))
        self.assertEqual([('c1', 'nova-compute', 'compute', 7, 0, False)],
                         rows(self.context))
        self.assertEqual(
            [('object_class_action_versions', 'Service',
              'get_by_host_and_binary'),
             ('object_action', 'Service', 'destroy')],
            self.conductor.calls)

    def test_service_too_old_reaches_the_caller(self):
        self.record('c1')
        self.indirect()
        service = objects.Service(self.context, host='c2',
                                  binary='nova-compute', topic='compute',
                                  report_count=0, disabled=False,
                                  forced_down=False)
        with nv_fixtures.OlderRelease('pike', conf=self.conf):
            exc = self.assertRaises(exception.ServiceTooOld, service.create)
        self.assertEqual(
            # The whole process runs as pike here, whose history ends
            # before queens: 7 has no release name for it.
            'Service nova-compute on host c2 is version 6 (pike), older '
            'than the minimum version 7 of the other nova-compute '
            'services: refusing to register it, nothing was written. '
            'Upgrade c2 to version 7 or newer; or, if the newer '
            'nova-compute services are gone for good, delete or force down '
            'their records so they stop counting toward the minimum.',
            str(exc))
        self.assertEqual((6, 7), (exc.thisver, exc.minver))
        self.assertEqual([('object_action', 'Service', '_create')],
                         self.conductor.calls)
        self.assertEqual([('c1', 'nova-compute', 'compute', 7, 0, False)],
                         rows(self.context))
        self.assertFalse(service.obj_attr_is_set('id'))


class TestRefusals(_ConductorTestCase):
    """Anything but a remotable method of a registered object is refused.

    The calls are sent through the ConductorAPI client, as a caller with
    bad intentions (or a bug) would send them.
    """

    def setUp(self):
        super().setUp()
        self.service = self.record('c1')
        self.before = rows(self.context)
        self.versions = {'Service': objects.Service.VERSION}

    def class_action(self, objname, objmethod, args=(), versions=None):
        return self.assertRaises(
            exception.ObjectActionNotAllowed,
            self.api.object_class_action_versions, self.context, objname,
            objmethod, self.versions if versions is None else versions,
            args, {})

    def action(self, objinst, objmethod, args=()):
        return self.assertRaises(
            exception.ObjectActionNotAllowed, self.api.object_action,
            self.context, objinst, objmethod, args, {})

    def assertNothingWritten(self):
        self.assertEqual(self.before, rows(self.context))

    def test_non_remotable_class_method(self):
        # Prime the cache the method would clear.
        self.assertEqual(7, objects.Service.get_minimum_version(
            self.context, 'nova-compute'))
        self.assertEqual(7, service_obj.MIN_VERSION_CACHE.peek(
            'nova-compute'))
        exc = self.class_action('Service', 'clear_min_version_cache')
        self.assertEqual(
            NOT_ALLOWED % ('Service.clear_min_version_cache',
                           'not a remotable class method'), str(exc))
        self.assertEqual(7, service_obj.MIN_VERSION_CACHE.peek(
            'nova-compute'))
        self.assertNothingWritten()

    def test_private_static_method_as_class_action(self):
        exc = self.class_action('Service', '_from_db_object',
                                args=(self.service, {}))
        self.assertEqual(
            NOT_ALLOWED % ('Service._from_db_object',
                           'not a remotable class method'), str(exc))
        self.assertNothingWritten()

    def test_private_static_method_as_object_action(self):
        exc = self.action(self.service, '_from_db_object',
                          args=(self.service, {}))
        self.assertEqual(
            NOT_ALLOWED % ('Service._from_db_object',
                           'not a remotable method'), str(exc))
        self.assertNothingWritten()

    def test_private_helper_method(self):
        self.service.report_count = 42
        exc = self.action(self.service, '_set_version', args=(1,))
        self.assertEqual(
            NOT_ALLOWED % ('Service._set_version', 'not a remotable method'),
            str(exc))
        self.assertNothingWritten()

    def test_non_remotable_method_obj_reset_changes(self):
        self.service.report_count = 42
        exc = self.action(self.service, 'obj_reset_changes')
        self.assertEqual(
            NOT_ALLOWED % ('Service.obj_reset_changes',
                           'not a remotable method'), str(exc))
        # Nothing came back to apply: our change is still pending.
        self.assertEqual({'report_count'}, self.service.obj_what_changed())
        self.assertNothingWritten()

    def test_non_remotable_save_writes_nothing(self):
        self.service.report_count = 42
        exc = self.action(self.service, 'save')
        self.assertEqual(
            NOT_ALLOWED % ('Service.save', 'not a remotable method'),
            str(exc))
        self.assertNothingWritten()

    def test_remotable_instance_method_as_class_action(self):
        exc = self.class_action('Service', 'destroy')
        self.assertEqual(
            NOT_ALLOWED % ('Service.destroy', 'not a remotable class method'),
            str(exc))
        self.assertNothingWritten()

    def test_remotable_private_instance_method_as_class_action(self):
        exc = self.class_action('Service', '_create')
        self.assertEqual(
            NOT_ALLOWED % ('Service._create', 'not a remotable class method'),
            str(exc))
        self.assertNothingWritten()

    def test_remotable_class_method_as_object_action(self):
        exc = self.action(self.service, 'get_all_at_minimum_version',
                          args=('nova-compute',))
        self.assertEqual(
            NOT_ALLOWED % ('Service.get_all_at_minimum_version',
                           'not a remotable method'), str(exc))
        self.assertNothingWritten()

    def test_unknown_class_method(self):
        exc = self.class_action('Service', 'get_by_name', args=('c1',))
        self.assertEqual(
            NOT_ALLOWED % ('Service.get_by_name',
                           'not a remotable class method'), str(exc))

    def test_unknown_method(self):
        exc = self.action(self.service, 'frobnicate')
        self.assertEqual(
            NOT_ALLOWED % ('Service.frobnicate', 'not a remotable method'),
            str(exc))
        self.assertNothingWritten()

    def test_unregistered_object_name(self):
        exc = self.class_action('Instance', 'get_by_uuid', args=('u',),
                                versions={'Instance': '1.0'})
        self.assertEqual(
            NOT_ALLOWED % ('Instance.get_by_uuid', 'not a registered object '
                           '(Unsupported object type Instance)'), str(exc))

    def test_object_name_missing_from_the_versions(self):
        exc = self.class_action('Service', 'get_minimum_version',
                                args=('nova-compute',), versions={})
        self.assertEqual(
            NOT_ALLOWED % ('Service.get_minimum_version',
                           "not a registered object ('Service')"), str(exc))

    def test_object_of_another_project_is_refused(self):
        # Registered in oslo.versionedobjects' process-wide registry, with
        # a remotable class method, but not an object of this library.
        self.useFixture(ovo_fixture.VersionedObjectRegistryFixture())
        ovo_fixture.VersionedObjectRegistryFixture.register(Foreign)
        self.addCleanup(Foreign.ran.clear)
        try:
            result = self.api.object_class_action_versions(
                self.context, 'Foreign', 'touch', {'Foreign': '1.0'},
                ('x',), {})
        except exception.ObjectActionNotAllowed as exc:
            result = exc
        self.assertEqual([], Foreign.ran)
        self.assertIsInstance(result, exception.ObjectActionNotAllowed)
        self.assertTrue(
            str(result).startswith('Refusing to run Foreign.touch through '
                                   'the conductor: '), str(result))

    def test_anything_but_an_object_is_refused(self):
        # A plain dict stays a dict through the serializer.
        exc = self.action({'host': 'c1', 'binary': 'nova-compute'},
                          'destroy')
        self.assertEqual(
            NOT_ALLOWED % ('dict.destroy', 'not a registered object'),
            str(exc))
        self.assertEqual([('object_action', 'dict', 'destroy')],
                         self.conductor.calls)
        self.assertNothingWritten()


class TestBackport(_ConductorTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(ovo_fixture.VersionedObjectRegistryFixture())
        self.addCleanup(self._forget_widget)
        objects_base.NovaVersioningObjectRegistry.register(Widget)

    @staticmethod
    def _forget_widget():
        if getattr(objects, 'Widget', None) is Widget:
            delattr(objects, 'Widget')

    def test_returns_a_primitive_at_the_requested_version(self):
        widget = Widget(name='w1', colour='red')
        primitive = self.conductor.object_backport_versions(
            self.context, widget, {'Widget': '1.0'})
        self.assertEqual(
            {'nova_versioning_object.name': 'Widget',
             'nova_versioning_object.namespace': 'nova_versioning',
             'nova_versioning_object.version': '1.0',
             'nova_versioning_object.data': {'name': 'w1'},
             'nova_versioning_object.changes': ['name']},
            primitive)

    def test_current_version_is_unchanged(self):
        widget = Widget(name='w1', colour='red')
        widget.obj_reset_changes()
        primitive = self.conductor.object_backport_versions(
            self.context, widget, {'Widget': '1.1'})
        self.assertEqual(
            {'nova_versioning_object.name': 'Widget',
             'nova_versioning_object.namespace': 'nova_versioning',
             'nova_versioning_object.version': '1.1',
             'nova_versioning_object.data': {'name': 'w1',
                                             'colour': 'red'}},
            primitive)

    def test_through_rpc(self):
        widget = Widget(name='w1', colour='red')
        backported = self.api.object_backport_versions(
            self.context, widget, {'Widget': '1.0'})
        self.assertIsInstance(backported, Widget)
        self.assertEqual(('1.0', 'w1', False),
                         (backported.VERSION, backported.name,
                          backported.obj_attr_is_set('colour')))
        self.assertEqual(
            [('object_backport_versions', 'Widget', {'Widget': '1.0'})],
            self.conductor.calls)


class TestPing(_ConductorTestCase):

    def test_ping(self):
        self.api.resolve(self.context)
        self.assertEqual(
            {'service': 'nova-conductor', 'host': 'cond1', 'payload': 'p',
             'trace_id': 't1', 'version': '3.2', 'caps': {}},
            self.api.ping(self.context, 'p', trace_id='t1'))
