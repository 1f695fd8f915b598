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
"""Task: the instance-like object the sample services send each other.

A Task travels in both directions between computes and conductors, in
calls and casts, and its fields grew over releases (see the object
manifests of the sample history, ``history.OBJECT_VERSION_HISTORY``):

* Task 1.0: uuid, name, state, resources (a TaskResources 1.0);
* Task 1.1 (pike): adds priority;
* Task 1.2 (queens): adds labels; resources is a TaskResources 1.1, which
  adds disk_gb.

Each object declares the version every field appeared in
(``FIELDS_SINCE``): :meth:`FieldHistory.obj_make_compatible` drops the
fields a target version does not know, and :func:`problems` checks a
received object field by field against what a release defines.
"""

import uuid

from oslo_utils import versionutils
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields

from nova_versioning.objects import base


def _version(text):
    return versionutils.convert_version_to_tuple(text)


FieldHistory = base.FieldHistory


@base.NovaVersioningObjectRegistry.register
class TaskResources(FieldHistory, base.NovaVersioningObject):
    # Version 1.0: vcpus, memory_mb
    # Version 1.1: disk_gb
    VERSION = '1.1'

    fields = {
        'vcpus': fields.IntegerField(),
        'memory_mb': fields.IntegerField(),
        'disk_gb': fields.IntegerField(),
    }
    FIELDS_SINCE = {'disk_gb': '1.1'}


@base.NovaVersioningObjectRegistry.register
class Task(FieldHistory, base.NovaVersioningObject):
    # Version 1.0: uuid, name, state, resources (TaskResources 1.0)
    # Version 1.1: priority
    # Version 1.2: labels; resources is a TaskResources 1.1
    VERSION = '1.2'

    fields = {
        'uuid': fields.UUIDField(),
        'name': fields.StringField(),
        'state': fields.StringField(),
        'resources': fields.ObjectField('TaskResources'),
        'priority': fields.IntegerField(),
        'labels': fields.DictOfStringsField(),
    }
    FIELDS_SINCE = {'priority': '1.1', 'labels': '1.2'}
    # Without a version manifest: which TaskResources each Task holds.
    obj_relationships = {'resources': [('1.0', '1.0'), ('1.2', '1.1')]}


@base.NovaVersioningObjectRegistry.register
class TaskList(ovo_base.ObjectListBase, base.NovaVersioningObject):
    # Version 1.0: Task 1.0
    # Version 1.1: Task 1.1
    # Version 1.2: Task 1.2
    VERSION = '1.2'

    fields = {
        'objects': fields.ListOfObjectsField('Task'),
    }
    obj_relationships = {'objects': [('1.0', '1.0'), ('1.1', '1.1'),
                                     ('1.2', '1.2')]}


# -- sample tasks and their checks ----------------------------------------

_NAMESPACE = '6d1f9e8a-3c55-4b8e-9a57-0a4c3f4f2b10'


def sample(name, state='new'):
    """The Task named ``name`` in ``state``, every field set.

    Its values follow from its name, so a receiver knows what every field
    it can read must hold.
    """
    task = Task(uuid=str(uuid.uuid5(uuid.UUID(_NAMESPACE), name)),
                name=name, state=state, priority=len(name) % 7,
                labels={'origin': name[:40], 'state': state},
                resources=TaskResources(vcpus=1 + len(name) % 4,
                                        memory_mb=512, disk_gb=10))
    task.obj_reset_changes(recursive=True)
    return task


def problems(received, expected, manifest, release=None):
    """What is wrong with an object a service of ``manifest`` received.

    :param received: the object as deserialized by the receiver.
    :param expected: the same object as its sender built it (every field
        of this code's version set).
    :param manifest: {object name: "X.Y"} the receiver's release knows.
    :param release: the receiver's release, for messages.
    :returns: one line per problem (empty: the object is what the
        receiver's release defines, with nothing lost): a version or a
        field the release does not know, a field of the version received
        that is missing, or a value that differs from the sender's.
    """
    found = []
    _compare(received, expected, manifest, release or 'this release',
             received.obj_name(), found)
    return found


def _compare(received, expected, manifest, release, path, found):
    name = received.obj_name()
    known = manifest.get(name)
    if known is None:
        found.append('%s: %s is unknown to %s' % (path, name, release))
        return
    if _version(received.VERSION) > _version(known):
        found.append('%s: %s %s is newer than %s knows (%s)'
                     % (path, name, received.VERSION, release, known))
        return
    if isinstance(received, ovo_base.ObjectListBase):
        if len(received.objects) != len(expected.objects):
            found.append('%s: %d objects, %d sent'
                         % (path, len(received.objects),
                            len(expected.objects)))
            return
        for index, (got, sent) in enumerate(zip(received.objects,
                                                expected.objects)):
            _compare(got, sent, manifest, release,
                     '%s[%d]' % (path, index), found)
        return
    defined = type(received).fields_at(received.VERSION)
    own = type(received).fields_at(known)
    for field in sorted(received.fields):
        is_set = received.obj_attr_is_set(field)
        where = '%s.%s' % (path, field)
        if is_set and field not in own:
            found.append('%s: set, but %s %s (%s) does not define it'
                         % (where, name, known, release))
        elif field in defined and not is_set:
            found.append('%s: lost (%s %s defines it)'
                         % (where, name, received.VERSION))
        elif is_set:
            got = getattr(received, field)
            sent = getattr(expected, field)
            if isinstance(got, ovo_base.VersionedObject):
                _compare(got, sent, manifest, release, where, found)
            elif got != sent:
                found.append('%s: %r, %r sent' % (where, got, sent))
