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
"""Real-world history shapes, and the ``nova`` history provider.

Nova's own modules are never imported here (the nova-interop tox env
compares with them); the provider is exercised on its bundled snapshot and
on small Nova-like package trees written by the tests.
"""

import json
import os
import re
import textwrap
from unittest import mock

import fixtures

from nova_versioning import exception
from nova_versioning.histories import nova
from nova_versioning import history
from nova_versioning.rpc import pinning
from nova_versioning.tests import base

NOVA_RULES = nova.RULES

# A small history shaped like Nova's: compute only, two major bumps,
# releases sharing a service version, aliases older than the table.
ENTRIES = [
    {'compute_rpc': '4.0'},   # 0
    {'compute_rpc': '4.4'},   # 1
    {'compute_rpc': '4.5'},   # 2
    {'compute_rpc': '5.0'},   # 3
    {'compute_rpc': '5.1'},   # 4
    {'compute_rpc': '6.0'},   # 5
    {'compute_rpc': '6.0'},   # 6
    {'compute_rpc': '6.1'},   # 7
    {'compute_rpc': '6.2'},   # 8
]
RELEASES = {'alpha': 2, 'beta': 4, 'gamma': 6, 'delta': 6, 'eps': 7,
            'zeta': 8}
ALIASES = {'compute': {'old1': '3.23', 'old2': '3.35', 'alpha': '4.5',
                       'beta': '5.1', 'gamma': '6.0', 'delta': '6.0',
                       'eps': '6.1', 'zeta': '6.2'}}


def nova_like(oldest='eps', **kw):
    args = dict(rpc_aliases=ALIASES, rules=NOVA_RULES, source='test')
    args.update(kw)
    return history.VersionHistory('novalike', ENTRIES, RELEASES, oldest,
                                  **args)


class TestRealHistoryShapes(base.TestCase):

    def test_accepted(self):
        hist = nova_like()
        self.assertEqual(8, hist.service_version)
        self.assertEqual(['compute'], hist.apis)
        self.assertEqual(7, hist.oldest_supported_version)
        self.assertEqual('gamma/delta', hist.release_of(6))
        self.assertEqual('5 (gamma/delta)', hist.describe(5))
        self.assertEqual('novalike (test)', hist.describe_source())

    def test_shared_versions_need_the_rule(self):
        exc = self.assertRaises(
            exception.InvalidHistory, history.VersionHistory, 'x', ENTRIES,
            RELEASES, 'eps')
        self.assertIn('release delta (service version 6) does not come '
                      'after the previous release (service version 6)',
                      str(exc))

    def test_oldest_supported_after_previous_release(self):
        rules = history.HistoryRules(shared_release_versions=True)
        hist = history.VersionHistory('x', ENTRIES, RELEASES, 'eps',
                                      rules=rules)
        # gamma/delta end at 6: eps starts at 7 either way here...
        self.assertEqual(7, hist.oldest_supported_version)
        # ...but not for zeta, which names 8 after eps's 7.
        hist = history.VersionHistory('x', ENTRIES,
                                      {'alpha': 2, 'zeta': 8}, 'zeta',
                                      rules=rules)
        self.assertEqual(3, hist.oldest_supported_version)
        hist = nova_like(oldest='zeta', )
        self.assertEqual(8, hist.oldest_supported_version)

    def test_versions_going_down_refused(self):
        entries = ENTRIES[:4] + [{'compute_rpc': '4.9'}]
        exc = self.assertRaises(
            exception.InvalidHistory, history.VersionHistory, 'x', entries,
            {'alpha': 2}, 'alpha', rules=NOVA_RULES)
        self.assertIn('entry 4: compute_rpc goes down from 5.0 to 4.9',
                      str(exc))

    def test_releases_going_down_refused(self):
        exc = self.assertRaises(
            exception.InvalidHistory, history.VersionHistory, 'x', ENTRIES,
            {'alpha': 4, 'beta': 2}, 'alpha', rules=NOVA_RULES)
        self.assertIn('release beta (service version 2) does not come '
                      'after', str(exc))

    def test_release_outside_the_table_refused(self):
        exc = self.assertRaises(
            exception.InvalidHistory, history.VersionHistory, 'x', ENTRIES,
            {'alpha': 9}, 'alpha', rules=NOVA_RULES)
        self.assertIn('outside 1..8', str(exc))

    def test_unknown_oldest_refused(self):
        exc = self.assertRaises(exception.InvalidHistory, nova_like,
                                oldest='old1')
        self.assertIn("oldest supported release 'old1' is not a known "
                      "release", str(exc))

    def test_bad_rpc_aliases_refused(self):
        cases = [
            ({'network': {'a': '1.0'}},
             'RPC release aliases are given for the network RPC API, which '
             'the history does not describe'),
            ({'compute': {'a': '6.3'}},
             'compute RPC release alias a=6.3 is newer than the latest '
             'compute RPC version of the history, 6.2'),
            ({'compute': {'a': '6.1', 'b': '6.0'}},
             'compute RPC release alias b=6.0 goes down from a=6.1'),
            ({'compute': {'a': 'six'}},
             "compute RPC release alias a='six' is not an \"X.Y\" version"),
            ({'compute': {'A': '6.0'}},
             "compute RPC release alias 'A' is not a lower-case name"),
            ({'compute': {'auto': '6.0'}},
             "compute RPC release alias 'auto' is ambiguous with a pin "
             "value"),
        ]
        for aliases, reason in cases:
            exc = self.assertRaises(exception.InvalidHistory, nova_like,
                                    rpc_aliases=aliases)
            self.assertEqual('Invalid service version history novalike: %s'
                             % reason, str(exc))

    def test_bad_rules_refused(self):
        self.assertRaises(ValueError, history.HistoryRules, old_pins='maybe')
        self.assertRaises(ValueError, history.HistoryRules,
                          oldest_supported_starts='soon')
        self.assertRaises(ValueError, history.HistoryRules,
                          explicit_versions='any')

    def test_as_of_keeps_rules_and_cuts_aliases(self):
        older = nova_like(oldest='beta').as_of(6)
        self.assertEqual(6, older.service_version)
        self.assertIs(NOVA_RULES, older.rules)
        self.assertEqual(['old1', 'old2', 'alpha', 'beta', 'gamma', 'delta'],
                         list(older.rpc_aliases['compute']))
        self.assertEqual('6.0', older.latest_rpc_version('compute'))

    def test_huge_numbers_are_no_versions(self):
        self.assertIsNone(history.parse_rpc_version('6.' + '9' * 5000))
        exc = self.assertRaises(exception.InvalidRelease,
                                nova_like().parse_release, '9' * 5000,
                                '[versioning]/emulated_release')
        self.assertIn('a release name', str(exc))
        # Non-ASCII digits are no service version either.
        self.assertRaises(exception.InvalidRelease,
                          nova_like().parse_release, '\u00b2',
                          '[versioning]/emulated_release')


class TestPinningByRules(base.TestCase):

    def setUp(self):
        super().setUp()
        self.hist = nova_like()

    def _resolve(self, value, **kw):
        return pinning.resolve('compute', value, self.hist, **kw)

    def test_auto_follows_the_table(self):
        self.assertEqual(
            ['6.2', '4.4', '4.5', '5.0', '5.1', '6.0', '6.0', '6.1', '6.2'],
            [self._resolve('auto', minimum_version=m).cap
             for m in range(9)])
        exc = self.assertRaises(exception.ServiceTooOld, self._resolve,
                                'auto', minimum_version=9)
        self.assertTrue(str(exc).startswith(
            'This service is older (v8) than the minimum (v9) version of '
            'the rest of the deployment. Unable to continue.'), str(exc))

    def test_release_names_use_the_rpc_aliases(self):
        for name, cap in ALIASES['compute'].items():
            decision = self._resolve(name.upper())
            self.assertEqual((cap, pinning.SOURCE_ALIAS),
                             (decision.cap, decision.source), name)

    def test_old_pins_warn_instead_of_refusing(self):
        for value in ('old1', 'alpha', '3.30', '4.0', '5.1', '6.0'):
            decision = self._resolve(value)
            self.assertIn('older than 6.1, the version of the oldest '
                          'supported release eps', decision.warning)
            self.assertFalse(decision.latest)
        for value in ('eps', 'zeta', '6.1', '6.2', '', 'auto'):
            decision = self._resolve(value, minimum_version=8)
            self.assertIsNone(decision.warning, value)

    def test_old_pins_refused_under_the_default_rules(self):
        hist = history.VersionHistory(
            'strict', ENTRIES, {'alpha': 2, 'beta': 4, 'eps': 7}, 'eps',
            rpc_aliases={'compute': {'old1': '3.23', 'eps': '6.1'}})
        # eps starts after beta (4): at 5, which speaks 6.0.
        self.assertEqual(5, hist.oldest_supported_version)
        for value in ('old1', 'alpha', '5.1', '4.5'):
            self.assertRaises(exception.InvalidPin, pinning.resolve,
                              'compute', value, hist)
        for value, cap in (('eps', '6.1'), ('6.0', '6.0')):
            decision = pinning.resolve('compute', value, hist)
            self.assertEqual((cap, None), (decision.cap, decision.warning))

    def test_explicit_versions_nova_knows(self):
        for value in ('3.23', '3.30', '3.35', '4.0', '4.3', '5.1', '6.2'):
            self.assertEqual(value, self._resolve(value).cap)
        for value, reason in (
                ('3.36', '3.36 is not a version the compute RPC API knows'),
                ('3.0', '3.0 is not a version the compute RPC API knows'),
                ('5.2', '5.2 is not a version the compute RPC API knows'),
                ('2.0', '2.0 is not a version the compute RPC API knows'),
                ('6.3', '6.3 is newer than the latest compute RPC version '
                        'this code knows, 6.2'),
                ('7.0', '7.0 is newer than the latest compute RPC version '
                        'this code knows, 6.2')):
            exc = self.assertRaises(exception.InvalidPin, self._resolve,
                                    value)
            self.assertIn(reason, str(exc))
            self.assertIn("expected 'auto', a version from 3.23 to 6.2 that "
                          "the compute RPC API knows or a release name "
                          "(old1, old2, alpha, beta, gamma, delta, eps, "
                          "zeta)", str(exc))

    def test_api_the_history_does_not_describe(self):
        for value in (None, '', 'auto', ' AUTO '):
            decision = pinning.resolve('conductor', value, self.hist,
                                       minimum_version=0, code_latest='3.2')
            self.assertEqual(('3.2', pinning.SOURCE_UNDESCRIBED, True),
                             (decision.cap, decision.source,
                              decision.latest))
            self.assertEqual(
                'conductor RPC version cap 3.2 (the latest version this '
                'code sends: the version history does not describe the '
                'conductor RPC API)', pinning.audit_message(decision))
        decision = pinning.resolve('conductor', '3.1', self.hist,
                                   code_latest='3.2')
        self.assertEqual(('3.1', pinning.SOURCE_EXPLICIT, False),
                         (decision.cap, decision.source, decision.latest))
        for value in ('3.3', '2.9', 'eps', 'banana', '3.' + '9' * 5000):
            exc = self.assertRaises(exception.InvalidPin, pinning.resolve,
                                    'conductor', value, self.hist,
                                    code_latest='3.2')
            self.assertIn("expected 'auto', or a version X.Y from 3.0 to 3.2 "
                          "(the history novalike does not describe the "
                          "conductor RPC API", str(exc))
        # Without the sending code's version it cannot be decided at all.
        self.assertRaises(exception.InvalidHistory, pinning.resolve,
                          'conductor', 'auto', self.hist, minimum_version=0)


def _write_nova_tree(root, service_py, rpcapi_py, version='99.1.0'):
    package = os.path.join(root, 'nova')
    for sub in ('objects', 'compute'):
        os.makedirs(os.path.join(package, sub))
    with open(os.path.join(package, '__init__.py'), 'w'):
        pass
    with open(os.path.join(package, 'objects', 'service.py'), 'w') as f:
        f.write(textwrap.dedent(service_py))
    with open(os.path.join(package, 'compute', 'rpcapi.py'), 'w') as f:
        f.write(textwrap.dedent(rpcapi_py))
    return package


SERVICE_PY = '''
    import os
    SERVICE_VERSION = 3
    SERVICE_VERSION_HISTORY = (
        {'compute_rpc': '5.0'},
        {'compute_rpc': '5.1'},
        {'compute_rpc': '6.0'},
        {'compute_rpc': '6.0'},
    )
    OLDEST_SUPPORTED_SERVICE_VERSION = 'Bravo'
    SERVICE_VERSION_ALIASES = {'Alpha': 1, 'Bravo': 3}
'''
RPCAPI_PY = '''
    class Other(object):
        VERSION_ALIASES = {'nothing': '1.0'}

    class ComputeAPI(object):
        VERSION_ALIASES = {'ancient': '4.2', 'alpha': '5.1', 'bravo': '6.0'}
'''


class TestNovaProvider(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _installed(self, package_dir, version='99.1.0'):
        self.useFixture(fixtures.MockPatch(
            'nova_versioning.histories.nova.installed_nova',
            return_value=(package_dir, version)))

    def test_snapshot_without_nova(self):
        self.useFixture(fixtures.MockPatch(
            'importlib.util.find_spec', return_value=None))
        hist = nova.nova_history()
        tables, version = nova.load_snapshot()
        self.assertEqual('snapshot of Nova %s' % version, hist.source)
        self.assertEqual(tables['service_version'], hist.service_version)
        self.assertEqual(nova.RULES, hist.rules)
        self.assertEqual(['compute'], hist.apis)

    def test_snapshot_is_nova_34(self):
        # The bundled facts, as Nova 34.0.0 gives them.
        hist = nova.snapshot_history()
        self.assertEqual('snapshot of Nova 34.0.0', hist.source)
        self.assertEqual(74, hist.service_version)
        self.assertEqual('gazpacho', hist.oldest_supported)
        self.assertEqual(72, hist.oldest_supported_version)
        self.assertEqual('antelope/bobcat/caracal', hist.release_of(66))
        self.assertEqual('6.4', pinning.resolve(
            'compute', 'auto', hist, minimum_version=70).cap)
        self.assertEqual('6.5', pinning.resolve(
            'compute', 'auto', hist, minimum_version=0).cap)
        self.assertEqual('3.23', pinning.resolve(
            'compute', 'icehouse', hist).cap)
        self.assertEqual(('6.5', None), (
            pinning.resolve('compute', 'gazpacho', hist).cap,
            pinning.resolve('compute', 'gazpacho', hist).warning))
        self.assertIsNotNone(pinning.resolve('compute', 'flamingo',
                                             hist).warning)

    def test_live_tables_read_from_source(self):
        package = _write_nova_tree(self.tmp, SERVICE_PY, RPCAPI_PY)
        self._installed(package)
        hist = nova.nova_history()
        self.assertEqual('live Nova 99.1.0', hist.source)
        self.assertEqual(3, hist.service_version)
        self.assertEqual({'alpha': 1, 'bravo': 3}, hist.releases)
        self.assertEqual(3, hist.oldest_supported_version)
        self.assertEqual({'compute': {'ancient': '4.2', 'alpha': '5.1',
                                      'bravo': '6.0'}}, hist.rpc_aliases)

    def test_unreadable_source_falls_back_to_the_snapshot(self):
        cases = [
            (SERVICE_PY.replace("SERVICE_VERSION_ALIASES = {'Alpha': 1, "
                                "'Bravo': 3}",
                                "SERVICE_VERSION_ALIASES = dict(a=1)"),
             RPCAPI_PY, 'SERVICE_VERSION_ALIASES is not a literal'),
            (SERVICE_PY + "\n    SERVICE_VERSION = 4\n", RPCAPI_PY,
             'SERVICE_VERSION is assigned 2 times, not once'),
            (SERVICE_PY, RPCAPI_PY.replace('ComputeAPI', 'ComputeRPC'),
             'no single class ComputeAPI'),
            (SERVICE_PY + '\n    def broken(:\n', RPCAPI_PY,
             'invalid syntax'),
        ]
        for number, (service_py, rpcapi_py, reason) in enumerate(cases):
            root = os.path.join(self.tmp, str(number))
            package = _write_nova_tree(root, service_py, rpcapi_py)
            with mock.patch.object(nova, 'installed_nova',
                                   return_value=(package, '99.2.0')), \
                    mock.patch.object(nova.LOG, 'warning') as warning:
                hist = nova.nova_history()
            self.assertTrue(hist.source.startswith('snapshot of Nova'))
            message = warning.call_args[0][0] % warning.call_args[0][1]
            self.assertIn('Could not read the version history of the '
                          'installed Nova 99.2.0', message)
            self.assertIn(reason, message)

    def test_inconsistent_tables_refused(self):
        package = _write_nova_tree(
            self.tmp, SERVICE_PY.replace('SERVICE_VERSION = 3',
                                         'SERVICE_VERSION = 2'), RPCAPI_PY)
        self._installed(package)
        exc = self.assertRaises(exception.InvalidHistory, nova.nova_history)
        self.assertIn('SERVICE_VERSION 2 of live Nova 99.1.0 is not the last '
                      'entry of SERVICE_VERSION_HISTORY (3)', str(exc))

    def test_selected_by_the_entry_point(self):
        self.flags(history_provider='nova', group='versioning')
        history.REGISTRY.clear()
        self.addCleanup(history.REGISTRY.clear)
        hist = history.get_history()
        self.assertEqual('nova', hist.name)
        self.assertEqual(['compute'], hist.apis)

    def test_snapshot_file_shape(self):
        with open(nova.SNAPSHOT) as f:
            data = json.load(f)
        self.assertEqual({'nova_version', 'tables'}, set(data))
        self.assertEqual(set(nova._TABLES), set(data['tables']))

    def test_interop_constraints_name_the_snapshot(self):
        # tools/nova-interop-constraints.txt pins the Nova the nova-interop
        # env installs; the files its comments name exist, and it pins
        # the release the bundled snapshot records.
        top = os.path.join(os.path.dirname(nova.__file__), '..', '..')
        path = os.path.join(top, 'tools', 'nova-interop-constraints.txt')
        if not os.path.exists(path):
            self.skipTest('not run from a source tree')
        with open(path) as f:
            lines = [line.strip() for line in f]
        named = [word.rstrip('.,') for line in lines
                 if line.startswith('#') for word in line.split()
                 if '/' in word]
        self.assertIn(os.path.relpath(nova.SNAPSHOT, top), named)
        for name in named:
            self.assertTrue(os.path.exists(os.path.join(top, name)), name)
        pins = [line for line in lines if line and not line.startswith('#')]
        # Other lines only steer the resolver around the packages beside
        # Nova; the one line about Nova pins the snapshot's release.
        novas = [pin for pin in pins
                 if re.split(r'[=<>!~;\[ ]', pin, maxsplit=1)[0].lower()
                 == 'nova']
        self.assertEqual(['nova==%s' % nova.load_snapshot()[1]], novas)
