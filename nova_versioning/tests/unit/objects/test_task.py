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
"""Objects across releases: sender-side capping, receiver-side backport.

The sample Task (nested TaskResources, lists in TaskList) is sent to every
older object manifest of the sample history and read back as that release
reads it; objects a release does not know, or knows at an older version,
are refused with a clear error or backported by a real conductor served on
fake://.
"""

from nova_versioning.compute import manager as compute_manager
from nova_versioning.compute import rpcapi as compute_rpcapi
from nova_versioning.conductor import manager as conductor_manager
from nova_versioning.conductor import rpcapi as conductor_rpcapi
from nova_versioning import exception
from nova_versioning import history
from nova_versioning import objects
from nova_versioning.objects import base as obj_base
from nova_versioning.objects import task as task_obj
from nova_versioning import rpc
from nova_versioning.tests import base
from nova_versioning.tests.unit.rpc import fakes

HISTORY = history.default_history()
NEWEST = HISTORY.service_version


def manifest(version):
    return HISTORY.object_manifest(version)


def sent_and_read(entity, version, scope=None):
    """entity sent to service version ``version`` and read there."""
    sender = obj_base.ReleaseObjectSerializer(send=manifest(version),
                                              scope=scope)
    primitive = sender.serialize_entity(None, entity)
    reader = obj_base.ReleaseObjectSerializer(read=manifest(version),
                                              scope=scope)
    return primitive, reader.deserialize_entity(None, primitive)


class TestTaskVersions(base.TestCase):

    def test_fields_of_each_version(self):
        self.assertEqual({'uuid', 'name', 'state', 'resources'},
                         set(objects.Task.fields_at('1.0')))
        self.assertEqual({'uuid', 'name', 'state', 'resources', 'priority'},
                         set(objects.Task.fields_at('1.1')))
        self.assertEqual(set(objects.Task.fields),
                         set(objects.Task.fields_at('1.2')))
        self.assertEqual({'vcpus', 'memory_mb'},
                         set(objects.TaskResources.fields_at('1.0')))

    def test_manifests_of_the_sample_history(self):
        self.assertEqual(
            [('1.0', '1.0')] * 6 + [('1.1', '1.0'), ('1.2', '1.1')],
            [(manifest(v)['Task'], manifest(v)['TaskResources'])
             for v in range(NEWEST + 1)])
        # What pike added, queens' code knows; ocata's does not.
        self.assertNotIn('labels', objects.Task.fields_at(
            manifest(HISTORY.releases['pike'])['Task']))


class TestCapping(base.TestCase):

    def test_backport_to_every_older_manifest(self):
        task = task_obj.sample('t1')
        for version in range(NEWEST + 1):
            known = manifest(version)
            primitive, read = sent_and_read(task, version)
            self.assertEqual(known['Task'],
                             primitive['nova_versioning_object.version'])
            data = primitive['nova_versioning_object.data']
            self.assertEqual(set(objects.Task.fields_at(known['Task'])),
                             set(data), version)
            # The nested object, to what that release knows.
            self.assertEqual(
                known['TaskResources'],
                data['resources']['nova_versioning_object.version'])
            self.assertEqual(
                set(objects.TaskResources.fields_at(
                    known['TaskResources'])),
                set(data['resources']['nova_versioning_object.data']))
            # Field by field what the release defines, nothing lost.
            self.assertEqual([], task_obj.problems(read, task, known),
                             version)
            self.assertEqual(known['Task'], read.VERSION)

    def test_lists_of_objects(self):
        tasks = objects.TaskList(objects=[task_obj.sample('a'),
                                          task_obj.sample('b')])
        for version in range(NEWEST + 1):
            known = manifest(version)
            primitive, read = sent_and_read(tasks, version)
            self.assertEqual(known['TaskList'],
                             primitive['nova_versioning_object.version'])
            items = primitive['nova_versioning_object.data']['objects']
            self.assertEqual([known['Task']] * 2,
                             [item['nova_versioning_object.version']
                              for item in items])
            self.assertEqual([], task_obj.problems(read, tasks, known))

    def test_objects_inside_arguments(self):
        # A dict and a list of objects, as RPC arguments carry them.
        sender = obj_base.ReleaseObjectSerializer(send=manifest(5))
        sent = sender.serialize_entity(
            None, {'tasks': [task_obj.sample('a')],
                   'by_name': {'b': task_obj.sample('b')}})
        self.assertEqual(
            ['1.0', '1.0'],
            [sent['tasks'][0]['nova_versioning_object.version'],
             sent['by_name']['b']['nova_versioning_object.version']])

    def test_an_object_is_never_sent_newer_than_it_is(self):
        # A Task read at 1.0 goes on at 1.0 to a newer receiver, without
        # the fields of 1.2 it does not have.
        _primitive, old = sent_and_read(task_obj.sample('t1'), 5)
        sender = obj_base.ReleaseObjectSerializer(send=manifest(6))
        primitive = sender.serialize_entity(None, old)
        self.assertEqual('1.0', primitive['nova_versioning_object.version'])
        read = obj_base.ReleaseObjectSerializer(
            read=manifest(NEWEST)).deserialize_entity(None, primitive)
        self.assertEqual([], task_obj.problems(read, task_obj.sample('t1'),
                                               manifest(NEWEST)))

    def test_receivers_of_this_code_get_it_unchanged(self):
        sender = obj_base.ReleaseObjectSerializer(send=manifest(NEWEST))
        self.assertIsNone(sender.send_manifest)
        task = task_obj.sample('t1')
        self.assertEqual(task.obj_to_primitive(),
                         sender.serialize_entity(None, task))

    def test_object_unknown_to_the_receivers_is_not_sent(self):
        sender = obj_base.ReleaseObjectSerializer(
            send={'Service': '1.1'}, receiver='nova-compute at service '
                                              'version 1 (liberty)')
        exc = self.assertRaises(exception.ObjectUnknownToReceiver,
                                sender.serialize_entity, None,
                                [task_obj.sample('t1')])
        self.assertEqual(
            'Cannot send Task 1.2 to nova-compute at service version 1 '
            '(liberty): that release knows no Task object. Nothing was '
            'sent.', str(exc))

    def test_objects_outside_the_scope_go_as_they_are(self):
        sender = obj_base.ReleaseObjectSerializer(send={'Service': '1.1'},
                                                  scope={'Service'})
        task = task_obj.sample('t1')
        self.assertEqual(task.obj_to_primitive(),
                         sender.serialize_entity(None, task))


class TestReading(base.TestCase):

    def reader(self, version, backport=None):
        return obj_base.ReleaseObjectSerializer(
            read=manifest(version), backport=backport,
            reader='this service (service version %s)'
            % HISTORY.describe(version))

    def test_newer_version_is_refused_without_a_backport(self):
        primitive = task_obj.sample('t1').obj_to_primitive()
        exc = self.assertRaises(exception.ObjectVersionTooNew,
                                self.reader(5).deserialize_entity, None,
                                primitive)
        self.assertEqual('Cannot read Task 1.2: this service (service '
                         'version 5 (ocata)) knows Task up to 1.0.',
                         str(exc))

    def test_a_newer_nested_object_is_found(self):
        # A Task 1.0 holding a TaskResources 1.1 (no honest sender).
        task = task_obj.sample('t1')
        primitive = task.obj_to_primitive(target_version='1.0')
        primitive['nova_versioning_object.data']['resources'] = (
            task.resources.obj_to_primitive())
        exc = self.assertRaises(exception.ObjectVersionTooNew,
                                self.reader(5).deserialize_entity, None,
                                primitive)
        self.assertIn('Cannot read TaskResources 1.1', str(exc))

    def test_an_object_unknown_to_the_release_is_refused(self):
        reader = obj_base.ReleaseObjectSerializer(read={'Service': '1.1'})
        exc = self.assertRaises(
            exception.ObjectVersionTooNew, reader.deserialize_entity, None,
            objects.TaskList(objects=[]).obj_to_primitive())
        self.assertIn('Cannot read TaskList 1.2: this service knows no '
                      'TaskList object', str(exc))

    def test_backport_asked_with_the_release_manifest(self):
        asked = []

        def backport(context, primitive, wanted):
            asked.append(wanted)
            return objects.Task.obj_from_primitive(primitive).obj_to_primitive(
                target_version=wanted['Task'], version_manifest=wanted)

        read = self.reader(6, backport).deserialize_entity(
            None, task_obj.sample('t1').obj_to_primitive())
        self.assertEqual([manifest(6)], asked)
        self.assertEqual('1.1', read.VERSION)
        self.assertEqual([], task_obj.problems(read, task_obj.sample('t1'),
                                               manifest(6)))

    def test_a_backport_still_too_new_is_refused(self):
        exc = self.assertRaises(
            exception.ObjectVersionTooNew,
            self.reader(5, lambda c, p, m: p).deserialize_entity, None,
            task_obj.sample('t1').obj_to_primitive())
        self.assertIn('after a backport by the conductor', str(exc))


class TestThroughAConductor(base.DBTestCase):
    """Receiver-side backport by a real conductor on fake://."""

    def setUp(self):
        super().setUp()
        self.transport = self.useFixture(
            fakes.FakeTransport(self.conf)).transport
        self.api = conductor_rpcapi.ConductorAPI(self.transport,
                                                 conf=self.conf)

    def serve(self, release=None):
        version = HISTORY.releases[release] if release else None
        conductor = conductor_manager.ConductorManager(
            host='cond1', conf=self.conf, service_version=version)
        self.useFixture(fakes.Server(self.transport, 'conductor',
                                     conductor, server='cond1'))
        return conductor

    def reader(self, version):
        return obj_base.ReleaseObjectSerializer(
            read=manifest(version), backport=self.api.backport_object,
            reader='this service (service version %s)'
            % HISTORY.describe(version))

    def test_backported_by_the_conductor(self):
        self.serve()
        for version in range(NEWEST):
            read = self.reader(version).deserialize_entity(
                self.context, task_obj.sample('t1').obj_to_primitive())
            self.assertEqual(manifest(version)['Task'], read.VERSION)
            self.assertEqual([], task_obj.problems(
                read, task_obj.sample('t1'), manifest(version)))

    def test_a_conductor_older_than_the_object_says_so(self):
        self.serve('pike')
        exc = self.assertRaises(
            exception.ObjectVersionTooNew,
            self.reader(5).deserialize_entity, self.context,
            task_obj.sample('t1').obj_to_primitive())
        message = str(exc)
        self.assertIn('Cannot read Task 1.2: this service (service version '
                      '5 (ocata)) knows Task up to 1.0; the conductor could '
                      'not backport it: The conductor on cond1 cannot '
                      'backport Task 1.2 to 1.0: this conductor is older '
                      'than the object', message)
        self.assertNotIn('\n', message)

    def test_the_wait_is_bounded(self):
        # No conductor serves: the backport waits its timeout, no longer.
        self.flags(group='versioning', object_backport_timeout=1)
        exc = self.assertRaises(
            exception.ObjectVersionTooNew,
            self.reader(5).deserialize_entity, self.context,
            task_obj.sample('t1').obj_to_primitive())
        self.assertIn('the conductor could not backport it: No reply',
                      str(exc))


class TestEmulatedReleases(base.DBTestCase):
    """An emulated old compute reads objects as its release does."""

    def setUp(self):
        super().setUp()
        self.transport = self.useFixture(
            fakes.FakeTransport(self.conf)).transport

    def compute(self, release):
        self.flags(group='versioning', emulated_release=release)
        compute = compute_manager.ComputeManager(host='cpu1', conf=self.conf)
        self.flags(group='versioning', emulated_release=None)
        self.useFixture(fakes.Server(self.transport, 'compute', compute,
                                     server='cpu1'))
        return compute

    def client(self):
        api = compute_rpcapi.ComputeAPI(self.transport, conf=self.conf)
        api.resolve(self.context)
        return api

    def test_an_old_compute_refuses_a_newer_task(self):
        self.flags(group='versioning', disable_object_compat=True)
        self.compute('ocata')
        exc = self.assertRaises(exception.ObjectVersionTooNew,
                                self.client().update_task, self.context,
                                'cpu1', task_obj.sample('t1'))
        self.assertIn('Cannot read Task 1.2: this service (service version '
                      '5 (ocata)) knows Task up to 1.0', str(exc))

    def test_serializer_of_an_emulated_release(self):
        self.flags(group='versioning', emulated_release='ocata')
        compute = compute_manager.ComputeManager(host='cpu1', conf=self.conf)
        serializer = compute.rpc_serializer()
        self.assertIsInstance(serializer, rpc.RequestContextSerializer)
        # Its answers go at ocata's versions.
        primitive = serializer.serialize_entity(self.context,
                                                task_obj.sample('t1'))
        self.assertEqual('1.0', primitive['nova_versioning_object.version'])
