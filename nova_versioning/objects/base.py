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
"""Object registry, base class and serializer."""

from oslo_versionedobjects import base as ovo_base

from nova_versioning import objects


class NovaVersioningObjectRegistry(ovo_base.VersionedObjectRegistry):
    def registration_hook(self, cls, index):
        # Expose the newest registered version of each object as
        # nova_versioning.objects.<Name>.
        current = getattr(objects, cls.obj_name(), None)
        if current is None or cls.VERSION >= current.VERSION:
            setattr(objects, cls.obj_name(), cls)


class NovaVersioningObject(ovo_base.VersionedObject):
    """Base of every object of this library.

    Remotable methods are sent to the conductor when
    ``indirection_api`` is set (on hosts without database access).
    """

    OBJ_SERIAL_NAMESPACE = 'nova_versioning_object'
    OBJ_PROJECT_NAMESPACE = 'nova_versioning'


class NovaVersioningObjectSerializer(ovo_base.VersionedObjectSerializer):
    OBJ_BASE_CLASS = NovaVersioningObject
