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

from nova_versioning import objects
from nova_versioning.objects import base as obj_base
from nova_versioning.tests import base

# When a test below fails, the object's fields or remotable methods
# changed: bump the object's VERSION (and add a compatibility routine if an
# older version must still be understood), then update its fingerprint
# here. Never update a fingerprint without bumping the version.
object_data = {
    'Service': '1.1-e3245cbaf74f0a752fff199214ed6cd3',
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

    def test_registered_as_attribute(self):
        self.assertIs(obj_base.NovaVersioningObjectRegistry.obj_classes()[
            'Service'][0], objects.Service)
