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
"""What the conductor's indirection endpoint accepts from its callers.

Any client of the broker can call the endpoint, so it refuses what no
honest caller sends. The boundary is the broker (its credentials and TLS):
these rules are defence in depth behind it, and each refusal names its
rule (:class:`~nova_versioning.exception.IndirectionRefused`):

``well-formed request``
    Object and method names are strings; ``object_versions`` maps object
    names to versions ``X.Y`` (digits, at most 6 each); ``args`` is a list
    and ``kwargs`` a dict with string keys; every argument was sent, none
    is unknown, and every object in them could be read.
``matching arguments``
    The arguments fit the signature of the method called.
``service version range``
    A service version written to a record, or given as an argument, is an
    integer from 1 to the newest version of the conductor's history plus
    :data:`NEWER_VERSION_MARGIN` (a compute may run a slightly newer
    release than its conductor during an upgrade done out of order).
``declared code version``
    A write of a record's version writes the service version the caller
    declares for its own code (sent in the request context by
    :class:`~nova_versioning.conductor.rpcapi.ConductorAPI`). A caller of a
    release that declares nothing is held to the range rule only.
``registration fields``
    A save through the conductor changes only what a service changes in
    its own record: the heartbeat and state fields, its topic and its
    version; a re-registration (a save that writes the version) must name
    the record's own host and binary.
``no destroy``
    Deleting a record is an operator's action (``nova-versioning-manage
    service delete``), never a remote caller's.
"""

import inspect
import re

from nova_versioning import exception
from nova_versioning import history as nv_history
from nova_versioning.objects import service as service_obj

#: How many service versions past its own newest the conductor accepts.
NEWER_VERSION_MARGIN = 10

OBJECT_VERSION_RE = re.compile(r'[0-9]{1,6}\.[0-9]{1,6}')

#: The fields a save through the conductor may change.
SAVE_FIELDS = service_obj.STATE_FIELDS | frozenset(['topic', 'version'])

#: Argument names that carry a service version.
VERSION_ARGUMENTS = frozenset(['version'])

_NAME_LIMIT = 255


class Refusal(object):
    """Raise IndirectionRefused for ``call`` (``Object.method``)."""

    def __init__(self, call):
        self.call = call

    def __call__(self, rule, reason):
        return exception.IndirectionRefused(call=self.call, rule=rule,
                                            reason=reason)


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def safe(value):
    """value for a message or a log line: never a line break of its own."""
    if isinstance(value, str) and value.isprintable() and \
            len(value) <= _NAME_LIMIT:
        return value
    return _short(value, 40)


def call_name(objname, objmethod):
    return '%s.%s' % (safe(objname), safe(objmethod))


def check_names(refuse, **names):
    for what, value in names.items():
        if not isinstance(value, str) or not value or \
                len(value) > _NAME_LIMIT or not value.isprintable():
            raise refuse('well-formed request',
                         '%s must be a non-empty string of printable '
                         'characters, got %s' % (what, _short(value)))


def check_object_versions(refuse, object_versions):
    if not isinstance(object_versions, dict):
        raise refuse('well-formed request',
                     'object_versions must be a dict of object name to '
                     'version "X.Y", got %s' % type(object_versions).__name__)
    for name, version in object_versions.items():
        if not isinstance(name, str) or not isinstance(version, str) or \
                not OBJECT_VERSION_RE.fullmatch(version):
            raise refuse('well-formed request',
                         'object_versions must map object names to '
                         'versions "X.Y", got %s: %s'
                         % (_short(name, 40), _short(version, 40)))


def check_args(refuse, args, kwargs):
    if not isinstance(args, (list, tuple)):
        raise refuse('well-formed request',
                     'args must be a list, got %s' % type(args).__name__)
    if not isinstance(kwargs, dict) or not all(
            isinstance(key, str) for key in kwargs):
        raise refuse('well-formed request',
                     'kwargs must be a dict with string keys, got %s'
                     % _short(kwargs, 40))
    for value in list(args) + list(kwargs.values()):
        check_readable(refuse, value)


def check_readable(refuse, value, what='an argument'):
    """Refuse arguments the serializer could not read (see rpc)."""
    from nova_versioning import rpc
    if isinstance(value, rpc.UnreadableArgument):
        raise refuse('well-formed request',
                     '%s could not be read: %s' % (what, value.error))


def bind(refuse, func, *args, **kwargs):
    """The arguments bound to ``func``'s signature, or a refusal."""
    target = getattr(func, 'original_fn', func)
    try:
        return inspect.signature(target).bind(*args, **kwargs).arguments
    except TypeError as exc:
        raise refuse('matching arguments', str(exc)) from None


def newest_accepted(conf):
    return nv_history.get_history(conf).service_version + \
        NEWER_VERSION_MARGIN


def check_service_version(refuse, value, conf, what='version'):
    newest = newest_accepted(conf)
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 1 <= value <= newest:
        raise refuse('service version range',
                     '%s %s is outside 1..%d (the newest service version '
                     'this conductor knows plus %d)'
                     % (what, _short(value, 40), newest,
                        NEWER_VERSION_MARGIN))


def check_version_arguments(refuse, arguments, conf):
    for name in VERSION_ARGUMENTS & set(arguments):
        check_service_version(refuse, arguments[name], conf, what=name)


def check_declared_version(refuse, context, version):
    declared = getattr(context, 'caller_service_version', None)
    if declared is None:
        return
    if declared != version:
        raise refuse('declared code version',
                     'it would write version %s to the record, but the '
                     'caller declares its code at version %s'
                     % (_short(version, 40), _short(declared, 40)))


def check_write(refuse, context, objinst, objmethod, conf, stored=None):
    """The rules of a record write (``_create`` or ``_save``).

    :param stored: for a re-registering ``_save``: a callable returning
        the stored record's (host, binary).
    """
    changes = objinst.obj_what_changed()
    if objmethod == '_save':
        extra = sorted(changes - SAVE_FIELDS)
        if extra:
            raise refuse('registration fields',
                         'a save through the conductor may change only %s, '
                         'not %s' % (', '.join(sorted(SAVE_FIELDS)),
                                     ', '.join(extra)))
    if 'version' in changes or objmethod == '_create':
        if not objinst.obj_attr_is_set('version'):
            raise refuse('service version range',
                         'the record has no version')
        check_service_version(refuse, objinst.version, conf)
        check_declared_version(refuse, context, objinst.version)
        if objmethod == '_save' and stored is not None:
            ours = (objinst.host if objinst.obj_attr_is_set('host') else None,
                    objinst.binary if objinst.obj_attr_is_set('binary')
                    else None)
            theirs = stored()
            if ours != theirs:
                raise refuse('registration fields',
                             're-registering record %s as %s on host %s, '
                             'but it is the record of %s on host %s'
                             % (objinst.id, ours[1], ours[0], theirs[1],
                                theirs[0]))
