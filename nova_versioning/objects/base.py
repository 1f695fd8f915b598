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
from oslo_versionedobjects import exception as ovo_exc
from oslo_versionedobjects import fields as ovo_fields

from nova_versioning import exception
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


class FieldHistory(object):
    """Mixin: fields added after 1.0, and the versions that know them."""

    #: {field name: "X.Y" of the first version that has it}; fields not
    #: named are in every version.
    FIELDS_SINCE = {}

    @classmethod
    def fields_at(cls, version):
        """The names of the fields version ``version`` defines."""
        wanted = parse_object_version(version)
        return frozenset(
            name for name in cls.fields
            if parse_object_version(cls.FIELDS_SINCE.get(name, '1.0'))
            <= wanted)

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        target = parse_object_version(target_version)
        for name, since in self.FIELDS_SINCE.items():
            if target < parse_object_version(since):
                primitive.pop(name, None)


class NovaVersioningObjectSerializer(ovo_base.VersionedObjectSerializer):
    OBJ_BASE_CLASS = NovaVersioningObject


def registered_versions():
    """{object name: newest registered "X.Y"} of this project's objects."""
    found = {}
    for name, classes in NovaVersioningObjectRegistry.obj_classes().items():
        ours = [cls for cls in classes
                if issubclass(cls, NovaVersioningObject)]
        if ours:
            found[name] = max((cls.VERSION for cls in ours),
                              key=parse_object_version)
    return found


def describe_manifest(manifest, only=None):
    """"Service 1.1, Task 1.0" (the names in ``only`` when given)."""
    return ', '.join('%s %s' % (name, manifest[name])
                     for name in sorted(manifest)
                     if only is None or name in only)


_NAME_KEY = NovaVersioningObject._obj_primitive_key('name')
_CHANGES_KEY = NovaVersioningObject._obj_primitive_key('changes')
_VERSION_KEY = NovaVersioningObject._obj_primitive_key('version')
_DATA_KEY = NovaVersioningObject._obj_primitive_key('data')

# {"X.Y": (X, Y)} of the versions of the objects sent.
_PARSED = {}

# {object class: names of its fields holding objects or lists of them}.
_OBJECT_FIELDS = {}


_PLAIN_RE = re.compile(r'[A-Za-z0-9_.]{1,100}')


def _safe(value):
    """A name or version from a message: as it is when plain."""
    if isinstance(value, str) and _PLAIN_RE.fullmatch(value):
        return value
    return exception.shown(value)


def _object_fields(cls):
    names = _OBJECT_FIELDS.get(cls)
    if names is None:
        names = tuple(name for name, field in cls.fields.items()
                      if isinstance(field, (ovo_fields.ObjectField,
                                            ovo_fields.ListOfObjectsField)))
        _OBJECT_FIELDS[cls] = names
    return names


def _tree_versions(obj, found):
    """Add {name: (parsed, "X.Y")} of obj and the objects it holds.

    When several objects of one name are held, the oldest version counts:
    every one of them is sent at most at that version.
    """
    name = obj.obj_name()
    version = obj.VERSION
    parsed = _PARSED.get(version)
    if parsed is None:
        parsed = parse_object_version(version)
        if len(_PARSED) < 1024:
            _PARSED[version] = parsed
    seen = found.get(name)
    if seen is None or parsed < seen[0]:
        found[name] = (parsed, version)
    for field in _object_fields(type(obj)):
        if not obj.obj_attr_is_set(field):
            continue
        value = getattr(obj, field)
        if isinstance(value, ovo_base.VersionedObject):
            _tree_versions(value, found)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, ovo_base.VersionedObject):
                    _tree_versions(item, found)


def _too_new(primitive, manifest, scope=None):
    """(name, version) of the first object in primitive not in manifest.

    Nested objects and lists of objects are looked at too; None when the
    whole primitive is something the manifest's release can read. Objects
    whose names are not in ``scope`` (when given) are not looked at.
    """
    name = primitive.get(_NAME_KEY)
    if scope is None or name in scope:
        version = primitive.get(_VERSION_KEY)
        known = manifest.get(name)
        try:
            if known is None or (parse_object_version(version) >
                                 parse_object_version(known)):
                return name, version
        except (TypeError, ValueError):
            return name, version
    data = primitive.get(_DATA_KEY)
    if isinstance(data, dict):
        for value in data.values():
            found = _too_new_in(value, manifest, scope)
            if found is not None:
                return found
    return None


def _too_new_in(value, manifest, scope):
    if isinstance(value, dict):
        if _NAME_KEY in value:
            return _too_new(value, manifest, scope)
        values = value.values()
    elif isinstance(value, (list, tuple)):
        values = value
    else:
        return None
    for item in values:
        found = _too_new_in(item, manifest, scope)
        if found is not None:
            return found
    return None


# {(class, target version): fields to drop}, for FieldHistory objects.
_DROPS = {}


# {(class, its obj_make_compatible): whether FieldHistory's alone}.
_DECLARATIVE = {}


def _declarative(cls):
    """Whether cls's compatibility is FieldHistory's alone."""
    compatible = cls.obj_make_compatible
    key = (cls, compatible)
    answer = _DECLARATIVE.get(key)
    if answer is None:
        answer = (issubclass(cls, FieldHistory)
                  and compatible is FieldHistory.obj_make_compatible
                  and all(isinstance(cls.fields[name], ovo_fields.ObjectField)
                          for name in _object_fields(cls)))
        if len(_DECLARATIVE) < 1024:
            _DECLARATIVE[key] = answer
    return answer


def _trim(obj, primitive, manifest):
    """Backport primitive (obj's, at its version) in place to manifest.

    Only for objects whose compatibility FieldHistory declares (and the
    objects they hold): the fields a version does not know are dropped,
    as their obj_make_compatible would, without a second serialization.
    False (primitive to be discarded) for any other object.
    """
    cls = type(obj)
    if not _declarative(cls):
        return False
    target = manifest[obj.obj_name()]
    data = primitive[_DATA_KEY]
    if target != obj.VERSION:
        drops = _DROPS.get((cls, target))
        if drops is None:
            drops = frozenset(cls.fields) - cls.fields_at(target)
            _DROPS[(cls, target)] = drops
        for name in drops:
            data.pop(name, None)
        primitive[_VERSION_KEY] = target
        changes = primitive.get(_CHANGES_KEY)
        if changes:
            kept = [name for name in changes if name in data]
            if kept:
                primitive[_CHANGES_KEY] = kept
            else:
                del primitive[_CHANGES_KEY]
    for name in _object_fields(cls):
        if name in data and data[name] is not None:
            if not _trim(getattr(obj, name), data[name], manifest):
                return False
    return True


# Argument types sent as they are by every serializer (exact types: a
# subclass of str could carry obj_to_primitive).
_SCALARS = frozenset((str, int, float, bool, bytes))


class ReleaseObjectSerializer(NovaVersioningObjectSerializer):
    """Versioned objects as the releases at both ends know them.

    :param send: {object name: "X.Y"}: the object manifest of the
        receivers. Every object sent is backported to it
        (``obj_to_primitive`` with the target version and the manifest),
        the objects it holds and lists of objects included; an object the
        receivers do not know at all is refused
        (:class:`~nova_versioning.exception.ObjectUnknownToReceiver`),
        nothing is sent. None: objects go at the versions they are.
    :param read: the object manifest of this process's release. An object
        received at a version newer than it (or newer than this code) is
        backported through ``backport`` before it is read, or refused with
        :class:`~nova_versioning.exception.ObjectVersionTooNew`. None:
        what this code registers.
    :param backport: callable(context, primitive, manifest) returning the
        object (or its primitive) backported to manifest: a conductor's
        ``object_backport_versions``. None: never ask.
    :param receiver: how messages name the receivers of ``send``.
    :param reader: how messages name this process's release.
    :param scope: the names of the objects the manifests govern (those of
        the newest manifest of the history); other objects go and are
        read as they are. None: every object of this project.
    """

    def __init__(self, send=None, read=None, backport=None,
                 receiver='the receivers', reader='this service',
                 scope=None):
        registered = registered_versions()
        if scope is not None:
            scope = frozenset(scope)
        self._scope = scope
        names = registered if scope is None else scope
        if send is not None and all(
                name in registered and send.get(name) == registered[name]
                for name in names):
            # The receivers know every object at this code's version.
            send = None
        self._send = send
        self._send_parsed = (None if send is None else
                             {name: parse_object_version(version)
                              for name, version in send.items()})
        self._read = read
        self._backport = backport
        self._receiver = receiver
        self._reader = reader
        self._local = threading.local()

    @property
    def send_manifest(self):
        """The manifest objects are capped to; None when not capped."""
        return None if self._send is None else dict(self._send)

    # -- sending -----------------------------------------------------------

    def serialize_entity(self, context, entity):
        if entity is None or type(entity) in _SCALARS:
            # What every serializer sends as it is: no walk, no lookup.
            return entity
        if self._send is None:
            return super().serialize_entity(context, entity)
        if isinstance(entity, ovo_base.VersionedObject):
            return self._capped(entity)
        if isinstance(entity, (tuple, list, set, dict)):
            return self._process_iterable(context, self.serialize_entity,
                                          entity)
        return super().serialize_entity(context, entity)

    def _capped(self, entity):
        found = {}
        _tree_versions(entity, found)
        manifest = None
        for name, (parsed, version) in found.items():
            if self._scope is not None and name not in self._scope:
                continue
            wanted = self._send_parsed.get(name)
            if wanted is None:
                raise exception.ObjectUnknownToReceiver(
                    objname=name, objver=version, receiver=self._receiver)
            if parsed != wanted:
                if manifest is None:
                    manifest = self._send
                if parsed < wanted:
                    # Never claim a version newer than the object is.
                    if manifest is self._send:
                        manifest = dict(self._send)
                    manifest[name] = version
        if manifest is None:
            return entity.obj_to_primitive()
        primitive = entity.obj_to_primitive()
        if _trim(entity, primitive, manifest):
            return primitive
        # An object whose obj_make_compatible does more than drop the
        # fields FieldHistory declares: oslo.versionedobjects' way.
        return entity.obj_to_primitive(
            target_version=manifest[entity.obj_name()],
            version_manifest=manifest)

    # -- receiving ---------------------------------------------------------

    def _process_object(self, context, objprim):
        if self._read is not None:
            offending = _too_new(objprim, self._read, self._scope)
            if offending is not None:
                return self._backported(context, objprim, offending,
                                        self._read)
        try:
            return self.OBJ_BASE_CLASS.obj_from_primitive(objprim,
                                                          context=context)
        except ovo_exc.IncompatibleObjectVersion:
            # Newer than this code: what it registers is the manifest.
            name = objprim.get(_NAME_KEY)
            return self._backported(
                context, objprim, (name, objprim.get(_VERSION_KEY)),
                ovo_base.obj_tree_get_versions(name))

    def _refuse(self, offending, manifest, why=''):
        name, version = offending
        known = manifest.get(name)
        if known is None:
            return exception.ObjectVersionTooNew(
                'Cannot read %s %s: %s knows no %s object%s.'
                % (_safe(name), _safe(version), self._reader, _safe(name),
                   why))
        return exception.ObjectVersionTooNew(
            objname=_safe(name), objver=_safe(version),
            receiver=self._reader, known=known, why=why)

    def _backported(self, context, objprim, offending, manifest):
        if self._backport is None:
            raise self._refuse(offending, manifest)
        if getattr(self._local, 'busy', False):
            # The answer of a backport is itself too new: no second one.
            raise self._refuse(offending, manifest,
                               ' (a backport answered it)')
        self._local.busy = True
        try:
            result = self._backport(context, objprim, dict(manifest))
        except Exception as exc:
            text = str(exc).strip().splitlines()
            raise self._refuse(
                offending, manifest,
                '; the conductor could not backport it: %s'
                % (text[0] if text else type(exc).__name__))
        finally:
            self._local.busy = False
        if isinstance(result, ovo_base.VersionedObject):
            result = result.obj_to_primitive()
        if not isinstance(result, dict):
            raise self._refuse(offending, manifest,
                               '; the conductor answered %s'
                               % exception.shown(result))
        still = _too_new(result, manifest, self._scope)
        if still is not None:
            raise self._refuse(still, manifest,
                               ' (after a backport by the conductor)')
        return self.OBJ_BASE_CLASS.obj_from_primitive(result,
                                                      context=context)


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
