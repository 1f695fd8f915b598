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
"""Object version hashes: a changed object must bump its VERSION."""

from oslo_versionedobjects import fixture

from nova_versioning import exception
from nova_versioning import history
from nova_versioning import objects
from nova_versioning.objects import base as obj_base
from nova_versioning.tests import base

# When a test below fails, the object's fields or remotable methods
# changed: bump the object's VERSION (and add a compatibility routine if an
# older version must still be understood), record the new version in the
# object manifest of the newest service version
# (history.OBJECT_VERSION_HISTORY), then update its fingerprint here.
# Never update a fingerprint without bumping the version.
object_data = {
    'Service': '1.1-e3245cbaf74f0a752fff199214ed6cd3',
    'Task': '1.2-136ff88340f65dca9b82afda68805718',
    'TaskList': '1.2-15ecf022a68ddbb8c2a6739cfc9f8f5e',
    'TaskResources': '1.1-87111b47305bb60dbdcb091244544525',
}


def _our_classes():
    return {name: classes for name, classes
            in obj_base.NovaVersioningObjectRegistry.obj_classes().items()
            if all(cls.OBJ_PROJECT_NAMESPACE == 'nova_versioning'
                   for cls in classes)}


class TestObjectVersions(base.TestCase):

    def test_versions(self):
        checker = fixture.ObjectVersionChecker(_our_classes())
        expected, actual = checker.test_hashes(object_data)
        self.assertEqual(expected, actual,
                         'Some objects changed; bump their VERSION and '
                         'update their fingerprints here.')

    def test_every_object_has_a_fingerprint(self):
        self.assertEqual(sorted(object_data), sorted(_our_classes()))

    def test_newest_manifest_is_what_the_code_registers(self):
        # A VERSION bumped without a history entry fails here, and so
        # does an object the history does not name.
        history.default_history().check_registered_objects(
            obj_base.registered_versions())
        self.assertEqual(
            {name: cls[0].VERSION for name, cls in _our_classes().items()},
            history.OBJECT_VERSION_HISTORY[-1])

    def test_a_bump_without_a_history_entry_is_refused(self):
        registered = dict(obj_base.registered_versions(), Task='1.3')
        exc = self.assertRaises(
            exception.InvalidHistory,
            history.default_history().check_registered_objects, registered)
        self.assertIn('registers object Task 1.3, the newest object '
                      'manifest (service version 7) says 1.2', str(exc))
        registered = dict(obj_base.registered_versions(), Thing='1.0')
        exc = self.assertRaises(
            exception.InvalidHistory,
            history.default_history().check_registered_objects, registered)
        self.assertIn('Thing 1.0, which the newest object manifest',
                      str(exc))

    def test_registered_as_attribute(self):
        self.assertIs(obj_base.NovaVersioningObjectRegistry.obj_classes()[
            'Service'][0], objects.Service)


class TestVersionComparison(base.TestCase):

    def test_compared_as_numbers(self):
        self.assertLess(obj_base.parse_object_version('1.9'),
                        obj_base.parse_object_version('1.10'))
        self.assertEqual((2, 0), obj_base.parse_object_version('2.0'))

    def test_malformed_is_one_line(self):
        for value in ('6.' + '9' * 5000, 'abc', '', '-1.0', '1.\u00b2',
                      '1', '1.0.0', None, ['1', '0'], '1.0\n'):
            exc = self.assertRaises(ValueError,
                                    obj_base.parse_object_version, value)
            self.assertNotIn('\n', str(exc))
            self.assertLess(len(str(exc)), 200)

    def test_newest_registered_version_is_exposed(self):
        registry = obj_base.NovaVersioningObjectRegistry()

        class Thing(obj_base.NovaVersioningObject):
            VERSION = '1.9'

        class Thing10(obj_base.NovaVersioningObject):
            VERSION = '1.10'
            obj_name = classmethod(lambda cls: 'Thing')

        self.addCleanup(lambda: delattr(objects, 'Thing')
                        if hasattr(objects, 'Thing') else None)
        registry.registration_hook(Thing, 0)
        registry.registration_hook(Thing10, 0)
        self.assertIs(Thing10, objects.Thing)
        registry.registration_hook(Thing, 0)
        self.assertIs(Thing10, objects.Thing)


class TestIndirectionUsers(base.TestCase):

    def test_latest_held_api_until_all_released(self):
        users = obj_base.IndirectionUsers(type('Base', (), {}))
        first = users.use('a')
        second = users.use('b')
        self.assertEqual('b', users._base_cls.indirection_api)
        users.release(second)
        self.assertEqual('a', users._base_cls.indirection_api)
        second = users.use('b')
        users.release(first)
        users.release(first)
        self.assertEqual('b', users._base_cls.indirection_api)
        users.release(second)
        users.release(None)
        self.assertIsNone(users._base_cls.indirection_api)
        self.assertEqual(0, users.held)
