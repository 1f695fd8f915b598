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
"""Forged calls to the conductor's indirection endpoint are refused.

The calls are sent as any client of the broker could send them: through
a raw oslo.messaging client on fake:// (no allowed exception modules, so
a refusal arrives as a RemoteError, as it would to a forger), and through
the ConductorAPI for forged objects. Every refusal names its rule, writes
nothing and is logged at WARNING with the caller's context.
"""

import fixtures
import oslo_messaging as messaging

from nova_versioning.conductor import rules
from nova_versioning import context
from nova_versioning import exception
from nova_versioning import rpc
from nova_versioning.tests.unit.conductor import test_manager

MAX_INT = 2147483647
_DROP = object()
NEWEST = 7 + rules.NEWER_VERSION_MARGIN


def _message(exc, exc_type):
    if isinstance(exc, messaging.RemoteError):
        assert exc.exc_type == exc_type, exc.exc_type
        return exc.value
    assert type(exc).__name__ == exc_type, type(exc)
    return str(exc)


class ForgeryTestCase(test_manager._ConductorTestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova_versioning.conductor.manager'))
        self.service = self.record('c1')
        self.conductor_record = self.record('cond1', binary='nova-conductor')
        self.before = test_manager.rows(self.context)
        self.versions = {'Service': '1.1'}
        transport = self.api._transport
        # A forger's client: plain JSON, no exception modules allowed.
        self.raw = messaging.get_rpc_client(
            transport, messaging.Target(topic='conductor', version='3.0'),
            serializer=rpc.RequestContextSerializer())

    def raw_call(self, method, **kwargs):
        # fake:// hands the endpoint's exception over as it is; a broker
        # sends a RemoteError to a client that allows no modules.
        return self.assertRaises((messaging.RemoteError,
                                  exception.NovaVersioningException),
                                 self.raw.call, self.context, method,
                                 **kwargs)

    def assertRefused(self, exc, call, rule, reason_part):
        message = _message(exc, 'IndirectionRefused')
        prefix = 'Refusing %s through the conductor (rule: %s): ' % (
            call, rule)
        self.assertTrue(message.startswith(prefix), message)
        self.assertIn(reason_part, message)
        self.assertEqual(self.before, test_manager.rows(self.context))
        self.assertIn('Refused an indirection call from ', self.logs.output)
        self.assertIn(prefix, self.logs.output)
        self.assertNotIn('Traceback', self.logs.output)

    def primitive(self, service, version=None):
        primitive = service.obj_to_primitive()
        if version is not None:
            primitive['nova_versioning_object.version'] = version
        return primitive


class TestMalformedCalls(ForgeryTestCase):

    def class_call(self, **overrides):
        kwargs = {'objname': 'Service', 'objmethod': 'get_minimum_version',
                  'object_versions': self.versions,
                  'args': ['nova-compute'], 'kwargs': {}}
        kwargs.update(overrides)
        kwargs = {k: v for k, v in kwargs.items() if v is not _DROP}
        return self.raw_call('object_class_action_versions', **kwargs)

    def test_honest_raw_call_works(self):
        self.assertEqual(7, self.raw.call(
            self.context, 'object_class_action_versions', objname='Service',
            objmethod='get_minimum_version',
            object_versions=self.versions, args=['nova-compute'],
            kwargs={}))

    def test_bad_object_versions(self):
        for version in ('abc', '', '-1.0', '1', '1.1.1', '6.' + '9' * 5000,
                        None, 1.1, ['1.1']):
            exc = self.class_call(object_versions={'Service': version})
            self.assertRefused(exc, 'Service.get_minimum_version',
                               'well-formed request',
                               'object_versions must map object names to '
                               'versions "X.Y"')
            self.assertLess(len(_message(exc, 'IndirectionRefused')),
                            400)

    def test_object_versions_as_a_list(self):
        exc = self.class_call(object_versions=[['Service', '1.1']])
        self.assertRefused(exc, 'Service.get_minimum_version',
                           'well-formed request',
                           'object_versions must be a dict of object name '
                           'to version "X.Y", got list')

    def test_args_and_kwargs_of_the_wrong_type(self):
        exc = self.class_call(args={'binary': 'nova-compute'})
        self.assertRefused(exc, 'Service.get_minimum_version',
                           'well-formed request', 'args must be a list, '
                           'got dict')
        exc = self.class_call(args=[], kwargs=['nova-compute'])
        self.assertRefused(exc, 'Service.get_minimum_version',
                           'well-formed request',
                           'kwargs must be a dict with string keys')

    def test_non_string_method_name(self):
        for name in (42, None, ['get_minimum_version'], ''):
            exc = self.class_call(objmethod=name)
            self.assertRefused(exc, 'Service.%r' % (name,)
                               if name != '' else 'Service.',
                               'well-formed request',
                               'objmethod must be a non-empty string')
        exc = self.class_call(objmethod='get_minimum_version\nforged line')
        self.assertRefused(exc, "Service.'get_minimum_version\\nforged line'",
                           'well-formed request', 'printable characters')
        self.assertNotIn('\nforged line', self.logs.output)
        exc = self.raw_call('object_action', objinst=self.primitive(
            self.service), objmethod=7, args=[], kwargs={})
        self.assertRefused(exc, 'Service.7', 'well-formed request',
                           'objmethod must be a non-empty string')

    def test_missing_and_unknown_arguments(self):
        exc = self.class_call(args=_DROP, kwargs=_DROP)
        self.assertRefused(exc, 'Service.get_minimum_version',
                           'well-formed request',
                           'missing argument(s): args, kwargs')
        exc = self.class_call(colour='red')
        self.assertRefused(exc, 'Service.get_minimum_version',
                           'well-formed request',
                           'unknown argument(s): colour')
        exc = self.raw_call('object_action', objmethod='_save')
        self.assertRefused(exc, 'object._save', 'well-formed request',
                           'missing argument(s): args, kwargs, objinst')

    def test_arguments_not_matching_the_method(self):
        exc = self.class_call(args=[])
        self.assertRefused(exc, 'Service.get_minimum_version',
                           'matching arguments',
                           "missing a required argument: 'binary'")
        exc = self.class_call(args=['nova-compute'], kwargs={'colour': 1})
        self.assertRefused(exc, 'Service.get_minimum_version',
                           'matching arguments',
                           "got an unexpected keyword argument 'colour'")

    def test_service_version_argument_out_of_range(self):
        for version in (0, -1, NEWEST + 1, MAX_INT, 10 ** 100, True, '7'):
            exc = self.class_call(objmethod='get_counted_older_than',
                                  args=['nova-compute', version])
            self.assertRefused(exc, 'Service.get_counted_older_than',
                               'service version range',
                               'is outside 1..%d' % NEWEST)
        # In range: answered.
        self.assertEqual([], self.raw.call(
            self.context, 'object_class_action_versions', objname='Service',
            objmethod='get_counted_older_than',
            object_versions=self.versions, args=['nova-compute', NEWEST],
            kwargs={})[:0])

    def test_malformed_object_versions_in_objinst(self):
        for version in ('abc', '', '-1.0'):
            exc = self.raw_call('object_action', objinst=self.primitive(
                self.service, version), objmethod='_save', args=[],
                kwargs={})
            self.assertRefused(exc, 'UnreadableArgument._save',
                               'well-formed request',
                               'objinst could not be read')

    def test_objinst_as_a_list(self):
        exc = self.raw_call('object_action', objinst=[self.primitive(
            self.service)], objmethod='_save', args=[], kwargs={})
        self.assertIn('not a registered object',
                      _message(exc, 'ObjectActionNotAllowed'))
        self.assertEqual(self.before, test_manager.rows(self.context))

    def test_declared_caller_is_logged_without_line_breaks(self):
        forged = context.RequestContext(
            caller_host='cpu9\n2026-01-01 00:00:00 INFO forged',
            caller_service_version=7)
        exc = self.assertRaises(
            (messaging.RemoteError, exception.NovaVersioningException),
            self.raw.call, forged, 'object_action',
            objinst=self.primitive(self.service), objmethod='destroy',
            args=[], kwargs={})
        self.assertRefused(exc, 'Service.destroy', 'no destroy',
                           'deleted by an operator')
        self.assertIn("from host 'cpu9\\n2026-01-01 00:00:00 INFO forged', "
                      "service version 7", self.logs.output)
        self.assertNotIn('\n2026-01-01', self.logs.output)

    def test_backport_malformed(self):
        exc = self.raw_call('object_backport_versions',
                            objinst=self.primitive(self.service),
                            object_versions={'Service': 'abc'})
        self.assertRefused(exc, 'Service.object_backport_versions',
                           'well-formed request',
                           'object_versions must map object names')
        exc = self.raw_call('object_backport_versions',
                            objinst=self.primitive(self.service),
                            object_versions={})
        self.assertRefused(exc, 'Service.object_backport_versions',
                           'well-formed request',
                           'object_versions has no version for Service')


class TestForgedWrites(ForgeryTestCase):
    """Forged objects, sent through the real client (ConductorAPI)."""

    def setUp(self):
        super().setUp()
        self.indirect()

    def forge(self, service, version):
        # What a forger's copy of the object can do: write any version.
        service._set_version(version)

    def test_save_of_another_hosts_record_at_max_int(self):
        service = self.service
        self.forge(service, MAX_INT)
        exc = self.assertRaises(exception.IndirectionRefused, service._save)
        self.assertRefused(exc, 'Service._save', 'service version range',
                           'version 2147483647 is outside 1..%d' % NEWEST)

    def test_save_below_range(self):
        self.forge(self.service, 0)
        exc = self.assertRaises(exception.IndirectionRefused,
                                self.service._save)
        self.assertRefused(exc, 'Service._save', 'service version range',
                           'version 0 is outside')

    def test_save_of_a_version_the_caller_does_not_declare(self):
        # In range, but not the code version this caller declares (7).
        self.forge(self.service, 9)
        exc = self.assertRaises(exception.IndirectionRefused,
                                self.service._save)
        self.assertRefused(exc, 'Service._save', 'declared code version',
                           'it would write version 9 to the record, but the '
                           'caller declares its code at version 7')

    def test_create_at_max_int(self):
        service = test_manager.objects.Service(
            self.context, host='cond2', binary='nova-conductor',
            topic='conductor', report_count=0, disabled=False,
            forced_down=False)
        self.forge(service, MAX_INT)
        exc = self.assertRaises(exception.IndirectionRefused,
                                service._create)
        self.assertRefused(exc, 'Service._create', 'service version range',
                           'version 2147483647 is outside')
        self.assertFalse(service.obj_attr_is_set('id'))

    def test_save_changing_host_or_binary(self):
        for field, value in (('host', 'c2'), ('binary', 'nova-conductor'),
                             ('deleted', True)):
            service = test_manager.objects.Service.get_by_host_and_binary(
                self.context, 'c1', 'nova-compute')
            setattr(service, field, value)
            exc = self.assertRaises(exception.IndirectionRefused,
                                    service._save)
            self.assertRefused(exc, 'Service._save', 'registration fields',
                               'not %s' % field)

    def test_reregistration_posing_as_another_binary(self):
        # The record of c1's compute, re-registered under the name of a
        # conductor (whose minimum the guard would then read).
        service = test_manager.objects.Service.get_by_host_and_binary(
            self.context, 'c1', 'nova-compute')
        object.__setattr__(service, '_obj_binary', 'nova-conductor')
        service._set_version(7)
        exc = self.assertRaises(exception.IndirectionRefused, service._save)
        self.assertRefused(exc, 'Service._save', 'registration fields',
                           'it is the record of nova-compute on host c1')

    def test_honest_writes_pass(self):
        service = test_manager.objects.Service.get_by_host_and_binary(
            self.context, 'c1', 'nova-compute')
        service.report_count += 1
        service.save()
        service.topic = 'compute2'
        service.save()
        self.assertEqual(
            [('c1', 'nova-compute', 'compute2', 7, 1, False),
             ('cond1', 'nova-conductor', 'conductor', 7, 0, False)],
            test_manager.rows(self.context))
        self.assertEqual('', self.logs.output)

    def test_caller_without_declaration_is_held_to_the_range(self):
        # A caller of a release that does not declare its code version.
        self.useFixture(fixtures.MockPatchObject(
            type(self.api), 'rpc_serializer',
            lambda api, base=None: rpc.RequestContextSerializer(base=base)))
        self.api._bootstrap = None
        self.forge(self.service, 9)
        self.service._save()
        self.assertEqual(9, self.service.version)
        self.forge(self.service, NEWEST + 1)
        exc = self.assertRaises(exception.IndirectionRefused,
                                self.service._save)
        self.assertIn('(rule: service version range)', str(exc))
