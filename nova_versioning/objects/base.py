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

import itertools
import re
import threading

from oslo_versionedobjects import base as ovo_base

from nova_versioning import objects

# "X.Y" with at most 9 ASCII digits a part: a longer one is refused before
# int() is asked to read thousands of digits.
_OBJECT_VERSION_RE = re.compile(r'(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})')


def parse_object_version(version):
    """(major, minor) of an "X.Y" object version.

    Object versions compare as these tuples ('1.10' is newer than '1.9',
    which string comparison gets wrong).

    :raises ValueError: anything else, in one line.
    """
    match = (_OBJECT_VERSION_RE.fullmatch(version)
             if isinstance(version, str) else None)
    if match is None:
        text = repr(version)
        if len(text) > 40:
            text = '%s... (%d characters)' % (text[:30], len(str(version)))
        raise ValueError('invalid object version %s: expected "X.Y" with '
                         'X and Y numbers of at most 9 digits' % text)
    return int(match.group(1)), int(match.group(2))


class NovaVersioningObjectRegistry(ovo_base.VersionedObjectRegistry):
    def registration_hook(self, cls, index):
        # Expose the newest registered version of each object as
        # nova_versioning.objects.<Name>.
        current = getattr(objects, cls.obj_name(), None)
        if current is None or (parse_object_version(cls.VERSION) >=
                               parse_object_version(current.VERSION)):
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


class IndirectionUsers(object):
    """Who set ``NovaVersioningObject.indirection_api``, and with what.

    The attribute is one per process (remotable class methods read it from
    the class), but several services may share a process: each one that
    sends its object calls through a conductor takes a token with
    :meth:`use` and gives it back with :meth:`release`. The attribute is
    the API of the latest token still held, and None once every token is
    released, so one service stopping never takes the conductor away from
    another one still running.
    """

    def __init__(self, base_cls):
        self._base_cls = base_cls
        self._lock = threading.Lock()
        self._held = []
        self._tokens = itertools.count(1)

    def use(self, api):
        """Send remotable calls through ``api``; returns a token."""
        with self._lock:
            token = next(self._tokens)
            self._held.append((token, api))
            self._apply()
            return token

    def release(self, token):
        """Give a token back (a token not held is ignored)."""
        if token is None:
            return
        with self._lock:
            self._held = [(t, api) for t, api in self._held if t != token]
            self._apply()

    def _apply(self):
        self._base_cls.indirection_api = (self._held[-1][1] if self._held
                                          else None)

    def reset(self):
        """Forget every token (tests)."""
        with self._lock:
            self._held = []
            self._apply()

    @property
    def held(self):
        with self._lock:
            return len(self._held)


INDIRECTION = IndirectionUsers(NovaVersioningObject)
