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
"""Pin resolution over every configured value x minimum x history.

Every expected value below is written out by hand from the tables, never
computed with the code under test.
"""

import testscenarios

from nova_versioning import exception
from nova_versioning import history
from nova_versioning.rpc import pinning
from nova_versioning.tests import base

load_tests = testscenarios.load_tests_apply_scenarios

INVALID = 'invalid'
NEWER = 'newer'
NO_API = 'no-api'
TOO_OLD = 'too-old'

HOSTS = ('host-b', 'host-a')

# -- the histories ---------------------------------------------------------

# Entries and releases of the hand-built histories, next to what each
# implies (worked out by hand, in the comments and tables below).
SMALL = history.VersionHistory(
    'small',
    [{'a_rpc': '1.0'},
     {'a_rpc': '1.0'},
     {'a_rpc': '1.1', 'b_rpc': '2.0'},
     {'a_rpc': '1.3', 'b_rpc': '2.1'}],
    {'alpha': 1, 'beta': 2, 'gamma': 3}, 'beta')
# Oldest supported: beta, so service version 2 onwards (a 1.1, b 2.0).
# b does not exist at service versions 0 and 1.

LATE = history.VersionHistory(
    'late',
    [{'a_rpc': '1.0'},
     {'a_rpc': '1.1'},
     {'a_rpc': '1.2', 'b_rpc': '1.0'},
     {'a_rpc': '1.2', 'b_rpc': '1.1'}],
    {'one': 1, 'two': 3}, 'one')
# Oldest supported: one, service version 1, whose entry lacks b: b's
# lowest explicit pin is its first version, 1.0 (service version 2).

MAJOR = history.VersionHistory(
    'major',
    [{'c_rpc': '4.8'},
     {'c_rpc': '4.9'},
     {'c_rpc': '5.0'},
     {'c_rpc': '5.1'}],
    {'x': 1, 'y': 2, 'z': 3}, 'x')
# Oldest supported: x, service version 1 (4.9): explicit pins must be of
# the current major version 5, so 5.0 and 5.1 only.

DEFAULT = history.default_history()

HISTORIES = {'default': DEFAULT, 'small': SMALL, 'late': LATE,
             'major': MAJOR}

# Minimum versions tried for each history: None (not given), 0 (no
# receiver), each service version, and newer than the history.
MINIMUMS = {
    'default': [None, 0, 1, 2, 3, 4, 5, 6, 7, 8, 20],
    'small': [None, 0, 1, 2, 3, 4],
    'late': [None, 0, 1, 2, 3, 4],
    'major': [None, 0, 1, 2, 3, 4],
}

LATEST = {
    'default': {'compute': '6.5', 'conductor': '3.2', 'scheduler': '2.2'},
    'small': {'a': '1.3', 'b': '2.1'},
    'late': {'a': '1.2', 'b': '1.1'},
    'major': {'c': '5.1'},
}

ALLOWED = {
    'default': {
        'compute': "'auto', a version from 6.2 to 6.5 or a release name "
                   "(ocata, pike, queens)",
        'conductor': "'auto', a version from 3.1 to 3.2 or a release name "
                     "(ocata, pike, queens)",
        'scheduler': "'auto', a version from 2.1 to 2.2 or a release name "
                     "(ocata, pike, queens)",
    },
    'small': {
        'a': "'auto', a version from 1.1 to 1.3 or a release name "
             "(beta, gamma)",
        'b': "'auto', a version from 2.0 to 2.1 or a release name "
             "(beta, gamma)",
    },
    'late': {
        'a': "'auto', a version from 1.1 to 1.2 or a release name "
             "(one, two)",
        'b': "'auto', a version from 1.0 to 1.1 or a release name "
             "(one, two)",
    },
    'major': {
        'c': "'auto', a version from 5.0 to 5.1 or a release name "
             "(x, y, z)",
    },
}

# Values every API of every history treats the same way.
COMMON = {
    None: ('latest', None),
    '': ('latest', None),
    '   ': ('latest', None),
    'auto': ('auto', None),
    'AUTO': ('auto', None),
    ' Auto ': ('auto', None),
    'banana': INVALID,
    'auto6': INVALID,
    'latest': INVALID,
    '6': INVALID,
    '6.': INVALID,
    '.5': INVALID,
    '6.2.1': INVALID,
    'v6.2': INVALID,
    '06.2': INVALID,
    '6.02': INVALID,
    '6,2': INVALID,
    '-6.2': INVALID,
}

# Per history and API: value -> (source, cap) or INVALID.
VALUES = {
    'default': {
        'compute': {
            '6.0': INVALID, '6.1': INVALID,
            '6.2': ('explicit', '6.2'), '6.3': ('explicit', '6.3'),
            '6.4': ('explicit', '6.4'), '6.5': ('explicit', '6.5'),
            ' 6.3 ': ('explicit', '6.3'),
            '6.6': INVALID, '6.10': INVALID, '5.9': INVALID,
            '7.0': INVALID, '3.1': INVALID,
            'liberty': INVALID, 'mitaka': INVALID, 'newton': INVALID,
            'ocata': ('alias', '6.3'), 'pike': ('alias', '6.4'),
            'queens': ('alias', '6.5'), ' Pike ': ('alias', '6.4'),
            'QUEENS': ('alias', '6.5'), 'rocky': INVALID,
        },
        'conductor': {
            '3.0': INVALID, '3.1': ('explicit', '3.1'),
            '3.2': ('explicit', '3.2'), '3.3': INVALID, '2.9': INVALID,
            '4.0': INVALID, '6.2': INVALID,
            'liberty': INVALID, 'mitaka': INVALID, 'newton': INVALID,
            'ocata': ('alias', '3.1'), 'pike': ('alias', '3.2'),
            'queens': ('alias', '3.2'), 'rocky': INVALID,
        },
        'scheduler': {
            '2.0': INVALID, '2.1': ('explicit', '2.1'),
            '2.2': ('explicit', '2.2'), '2.3': INVALID, '1.9': INVALID,
            '3.0': INVALID,
            'liberty': INVALID, 'mitaka': INVALID, 'newton': INVALID,
            'ocata': ('alias', '2.1'), 'pike': ('alias', '2.1'),
            'queens': ('alias', '2.2'), 'rocky': INVALID,
        },
    },
    'small': {
        'a': {
            '1.0': INVALID, '1.1': ('explicit', '1.1'),
            '1.2': ('explicit', '1.2'), '1.3': ('explicit', '1.3'),
            '1.4': INVALID, '2.1': INVALID, '0.9': INVALID,
            'alpha': INVALID, 'beta': ('alias', '1.1'),
            'gamma': ('alias', '1.3'), 'delta': INVALID,
        },
        'b': {
            '2.0': ('explicit', '2.0'), '2.1': ('explicit', '2.1'),
            '2.2': INVALID, '1.3': INVALID, '3.0': INVALID,
            'alpha': INVALID, 'beta': ('alias', '2.0'),
            'gamma': ('alias', '2.1'),
        },
    },
    'late': {
        'a': {
            '1.0': INVALID, '1.1': ('explicit', '1.1'),
            '1.2': ('explicit', '1.2'), '1.3': INVALID,
            'one': ('alias', '1.1'), 'two': ('alias', '1.2'),
        },
        'b': {
            '0.9': INVALID, '1.0': ('explicit', '1.0'),
            '1.1': ('explicit', '1.1'), '1.2': INVALID,
            # Release one has no b API at all.
            'one': INVALID, 'two': ('alias', '1.1'),
        },
    },
    'major': {
        'c': {
            '4.8': INVALID, '4.9': INVALID, '5.0': ('explicit', '5.0'),
            '5.1': ('explicit', '5.1'), '5.2': INVALID, '6.0': INVALID,
            # A release keeps its version, even of an older major.
            'x': ('alias', '4.9'), 'y': ('alias', '5.0'),
            'z': ('alias', '5.1'),
        },
    },
}

# Per history and API: minimum service version -> cap for auto, or
# NEWER (receivers newer than the history) or NO_API (the entry at the
# minimum lacks the API). Minimum 0 is always the latest, uncached.
# With NEWER the API's stance decides: newer receivers expected (the
# conductor API: computes meet upgraded conductors in every upgrade) gives
# this code's latest version, which they all read; not expected (the
# default; the compute and scheduler APIs: a controller left behind)
# raises ServiceTooOld.
AUTO = {
    'default': {
        'compute': {1: '6.0', 2: '6.1', 3: '6.2', 4: '6.2', 5: '6.3',
                    6: '6.4', 7: '6.5', 8: NEWER, 20: NEWER},
        'conductor': {1: '3.0', 2: '3.0', 3: '3.1', 4: '3.1', 5: '3.1',
                      6: '3.2', 7: '3.2', 8: NEWER, 20: NEWER},
        'scheduler': {1: '2.0', 2: '2.0', 3: '2.0', 4: '2.1', 5: '2.1',
                      6: '2.1', 7: '2.2', 8: NEWER, 20: NEWER},
    },
    'small': {
        'a': {1: '1.0', 2: '1.1', 3: '1.3', 4: NEWER},
        'b': {1: NO_API, 2: '2.0', 3: '2.1', 4: NEWER},
    },
    'late': {
        'a': {1: '1.1', 2: '1.2', 3: '1.2', 4: NEWER},
        'b': {1: NO_API, 2: '1.0', 3: '1.1', 4: NEWER},
    },
    'major': {
        'c': {1: '4.9', 2: '5.0', 3: '5.1', 4: NEWER},
    },
}

SERVICE_VERSION = {'default': 7, 'small': 3, 'late': 3, 'major': 3}
# How messages name each history's newest service version.
DESCRIBED = {'default': '7 (queens)', 'small': '3 (gamma)',
             'late': '3 (two)', 'major': '3 (z)'}


def _expected(hist, api, value, minimum, newer_expected):
    if value in COMMON:
        outcome = COMMON[value]
    else:
        outcome = VALUES[hist][api][value]
    if outcome == INVALID:
        return INVALID
    source, cap = outcome
    latest = LATEST[hist][api]
    if source == 'latest':
        return {'source': 'latest', 'cap': latest, 'latest': True,
                'minimum_version': None, 'hosts': (), 'cacheable': True}
    if source != 'auto':
        return {'source': source, 'cap': cap, 'latest': cap == latest,
                'minimum_version': None, 'hosts': (), 'cacheable': True}
    if minimum is None:
        return ValueError
    if minimum == 0:
        return {'source': 'auto', 'cap': latest, 'latest': True,
                'minimum_version': 0, 'hosts': (), 'cacheable': False}
    cap = AUTO[hist][api][minimum]
    if cap == NO_API:
        return cap
    if cap == NEWER:
        if not newer_expected:
            return TOO_OLD
        return {'source': 'auto', 'cap': latest, 'latest': True,
                'minimum_version': minimum, 'hosts': (), 'cacheable': True}
    return {'source': 'auto', 'cap': cap, 'latest': cap == latest,
            'minimum_version': minimum,
            'hosts': () if cap == latest else HOSTS, 'cacheable': True}


def _stances(hist, value, minimum):
    # The stance matters only to auto with newer receivers: every other
    # value is tried with both where receivers are newer, and with the
    # default elsewhere.
    is_auto = value in COMMON and COMMON[value] == ('auto', None)
    newer = minimum is not None and minimum > SERVICE_VERSION[hist]
    return (False, True) if is_auto or newer else (False,)


def _is_auto(value):
    return value in COMMON and COMMON[value] == ('auto', None)


def _minimums(hist, value):
    """The minimums worth resolving ``value`` with.

    auto depends on the minimum: every one. Its other spellings are auto
    once parsed (parse_pin's cases show it): once, with the oldest
    minimum. Any other value ignores the minimum: once, with receivers
    newer than the history and the default stance, which is where
    ignoring it matters (auto would refuse there).
    """
    if value == 'auto':
        return MINIMUMS[hist]
    if _is_auto(value):
        return [1]
    return [MINIMUMS[hist][-1]]


def _resolve_scenarios():
    scenarios = []
    for hist, by_api in VALUES.items():
        for api, values in by_api.items():
            for value in list(COMMON) + list(values):
                for minimum in _minimums(hist, value):
                    stances = (_stances(hist, value, minimum)
                               if value == 'auto' else (False,))
                    for stance in stances:
                        name = '%s-%s-%r-min%s%s' % (
                            hist, api, value, minimum,
                            '-newer-expected' if stance else '')
                        scenarios.append((name, {
                            'hist': hist, 'api': api, 'value': value,
                            'minimum': minimum, 'newer_expected': stance,
                            'expected': _expected(hist, api, value, minimum,
                                                  stance)}))
    return scenarios


def _parse_scenarios():
    # parse_pin takes no minimum: one case per history, API and value.
    scenarios = []
    for hist, by_api in VALUES.items():
        for api, values in by_api.items():
            for value in list(COMMON) + list(values):
                # Any minimum the value resolves with gives its source and,
                # but for auto, its cap.
                minimum = MINIMUMS[hist][-1]
                scenarios.append(('%s-%s-%r' % (hist, api, value), {
                    'hist': hist, 'api': api, 'value': value,
                    'expected': _expected(hist, api, value, minimum,
                                          True)}))
    return scenarios


class TestResolveEveryCombination(base.TestCase):
    """pinning.resolve over every value, minimum and stance that matter."""

    scenarios = _resolve_scenarios()

    def _resolve(self):
        return pinning.resolve(self.api, self.value,
                               HISTORIES[self.hist],
                               minimum_version=self.minimum, hosts=HOSTS,
                               newer_receivers_expected=self.newer_expected)

    def test_resolve(self):
        expected = self.expected
        if expected == INVALID:
            exc = self.assertRaises(exception.InvalidPin, self._resolve)
            prefix = ('Invalid value %r for option [upgrade_levels]/%s: '
                      'expected %s' % (self.value, self.api,
                                       ALLOWED[self.hist][self.api]))
            self.assertTrue(str(exc).startswith(prefix),
                            '%r does not start with %r' % (str(exc), prefix))
            self.assertNotIn('\n', str(exc))
        elif expected == TOO_OLD:
            exc = self.assertRaises(exception.ServiceTooOld, self._resolve)
            self.assertEqual(SERVICE_VERSION[self.hist], exc.thisver)
            self.assertEqual(self.minimum, exc.minver)
            self.assertIn('This service is older than the nova-%s services '
                          'it sends %s RPC messages to: their minimum '
                          'service version is %d, newer than %s'
                          % (self.api, self.api, self.minimum,
                             DESCRIBED[self.hist]), str(exc))
            self.assertIn('Upgrade this service to service version %d or '
                          'newer' % self.minimum, str(exc))
            self.assertNotIn('\n', str(exc))
        elif expected == NO_API:
            exc = self.assertRaises(exception.InvalidHistory, self._resolve)
            self.assertIn('service version %d, whose entry does not give '
                          'the %s RPC version (%s_rpc)'
                          % (self.minimum, self.api, self.api), str(exc))
        elif expected is ValueError:
            self.assertRaises(ValueError, self._resolve)
        else:
            decision = self._resolve()
            configured = self.value
            if configured is not None and not configured.strip():
                configured = None
            self.assertEqual(
                pinning.PinDecision(api=self.api, configured=configured,
                                    binary='nova-%s' % self.api,
                                    **expected),
                decision)


class TestParsePinEveryValue(base.TestCase):
    """pinning.parse_pin over every value of every history and API."""

    scenarios = _parse_scenarios()

    def test_parse_pin(self):
        expected = self.expected
        call = (pinning.parse_pin, self.api, self.value,
                HISTORIES[self.hist])
        if expected == INVALID:
            self.assertRaises(exception.InvalidPin, *call)
        elif isinstance(expected, dict) and expected['source'] != 'auto':
            self.assertEqual((expected['source'], expected['cap']),
                             call[0](*call[1:]))
        else:
            # auto, whatever the minimum.
            self.assertEqual(('auto', None), call[0](*call[1:]))


class TestPinningEdges(base.TestCase):

    def test_unknown_api(self):
        exc = self.assertRaises(exception.InvalidHistory, pinning.parse_pin,
                                'network', 'auto', DEFAULT)
        self.assertIn('does not describe the network RPC API', str(exc))
        self.assertIn('compute, conductor, scheduler', str(exc))

    def test_invalid_pin_example_message(self):
        exc = self.assertRaises(exception.InvalidPin, pinning.parse_pin,
                                'compute', 'banana', DEFAULT)
        self.assertEqual(
            "Invalid value 'banana' for option [upgrade_levels]/compute: "
            "expected 'auto', a version from 6.2 to 6.5 or a release name "
            "(ocata, pike, queens)", str(exc))
        self.assertEqual('compute', exc.api)
        self.assertEqual('banana', exc.value)

    def test_invalid_pin_reasons(self):
        cases = {
            '6.9': '; 6.9 is newer than the latest compute RPC version this '
                   'code knows, 6.5',
            '6.1': '; 6.1 is older than 6.2, the compute RPC version of the '
                   'oldest supported release ocata',
            '7.0': '; major version 7 is not the current compute RPC major '
                   'version 6',
            'newton': '; release newton is older than the oldest supported '
                      'release ocata',
        }
        for value, reason in cases.items():
            exc = self.assertRaises(exception.InvalidPin, pinning.parse_pin,
                                    'compute', value, DEFAULT)
            self.assertTrue(str(exc).endswith(reason), str(exc))

    def test_alias_of_release_without_the_api(self):
        exc = self.assertRaises(exception.InvalidPin, pinning.parse_pin,
                                'b', 'one', LATE)
        self.assertTrue(str(exc).endswith(
            '; release one does not have the b RPC API'), str(exc))

    def test_single_version_range(self):
        hist = history.VersionHistory(
            'single', [{'a_rpc': '1.0'}, {'a_rpc': '1.0'}, {'a_rpc': '1.4'}],
            {'old': 1, 'new': 2}, 'new')
        exc = self.assertRaises(exception.InvalidPin, pinning.parse_pin,
                                'a', '1.3', hist)
        self.assertIn("expected 'auto', version 1.4 or a release name (new)",
                      str(exc))

    def test_binary_given(self):
        decision = pinning.resolve('compute', 'auto', DEFAULT,
                                   minimum_version=0, binary='nova-other')
        self.assertEqual('nova-other', decision.binary)

    def test_negative_minimum(self):
        self.assertRaises(ValueError, pinning.resolve, 'compute', 'auto',
                          DEFAULT, minimum_version=-1)

    def test_newer_receivers_refused_by_default(self):
        exc = self.assertRaises(exception.ServiceTooOld, pinning.resolve,
                                'compute', 'auto', DEFAULT,
                                minimum_version=8)
        self.assertEqual(
            'This service is older (v7) than the minimum (v8) version of the '
            'rest of the deployment. Unable to continue. '
            'This service is older than the nova-compute services it sends '
            'compute RPC messages to: their minimum service version is 8, '
            'newer than 7 (queens), the newest service version this code '
            'knows (history default), so it cannot tell which compute RPC '
            'version they accept. Upgrade this service to service version 8 '
            'or newer: the services sending compute RPC messages are '
            'upgraded before the nova-compute services.', str(exc))
        self.assertEqual((7, 8), (exc.thisver, exc.minver))

    def test_newer_receivers_expected(self):
        decision = pinning.resolve('conductor', 'auto', DEFAULT,
                                   minimum_version=8, hosts=['ctl1'],
                                   newer_receivers_expected=True)
        self.assertEqual(('3.2', 8, True, (), True),
                         (decision.cap, decision.minimum_version,
                          decision.latest, decision.hosts,
                          decision.cacheable))
        self.assertEqual(
            'Automatically selected conductor RPC version 3.2 from minimum '
            'service version 8 (the latest version)',
            pinning.audit_message(decision))

    def test_decision_is_frozen(self):
        decision = pinning.resolve('compute', None, DEFAULT)
        self.assertRaises(AttributeError, setattr, decision, 'cap', '6.0')


class TestMessages(base.TestCase):

    def _auto(self, minimum, hosts=()):
        return pinning.resolve('compute', 'auto', DEFAULT,
                               minimum_version=minimum, hosts=hosts)

    def test_audit_back_levelled(self):
        self.assertEqual(
            'Automatically selected compute RPC version 6.3 from minimum '
            'service version 5; held by: c1, c2',
            pinning.audit_message(self._auto(5, ['c1', 'c2'])))

    def test_audit_back_levelled_without_hosts(self):
        self.assertEqual(
            'Automatically selected compute RPC version 6.2 from minimum '
            'service version 3',
            pinning.audit_message(self._auto(3)))

    def test_audit_latest(self):
        self.assertEqual(
            'Automatically selected compute RPC version 6.5 from minimum '
            'service version 7 (the latest version)',
            pinning.audit_message(self._auto(7, ['c1'])))

    def test_audit_no_receiver(self):
        self.assertEqual(
            'Automatically selected compute RPC version 6.5 (the latest '
            'version): no nova-compute service is recorded yet',
            pinning.audit_message(self._auto(0)))

    def test_audit_many_hosts_truncated(self):
        hosts = ['c%02d' % i for i in range(13)]
        self.assertEqual(
            'Automatically selected compute RPC version 6.4 from minimum '
            'service version 6; held by: c00, c01, c02, c03, c04, c05, c06, '
            'c07, c08, c09 and 3 more',
            pinning.audit_message(self._auto(6, hosts)))

    def test_audit_ten_hosts_not_truncated(self):
        hosts = ['c%02d' % i for i in range(10)]
        self.assertTrue(pinning.audit_message(self._auto(6, hosts)).endswith(
            'held by: c00, c01, c02, c03, c04, c05, c06, c07, c08, c09'))

    def test_audit_not_auto(self):
        self.assertEqual(
            'compute RPC version cap 6.2 (explicit pin)',
            pinning.audit_message(pinning.resolve('compute', '6.2',
                                                  DEFAULT)))
        self.assertEqual(
            'compute RPC version cap 6.4 (pinned to release pike)',
            pinning.audit_message(pinning.resolve('compute', ' Pike',
                                                  DEFAULT)))
        self.assertEqual(
            'compute RPC version cap 6.5 (not pinned: the latest version)',
            pinning.audit_message(pinning.resolve('compute', None,
                                                  DEFAULT)))

    def test_change_messages(self):
        old = self._auto(5)
        self.assertEqual('compute RPC version cap changed from 6.3 to 6.5',
                         pinning.change_message(old, self._auto(7)))
        self.assertEqual('compute RPC version cap unchanged at 6.3',
                         pinning.change_message(old, self._auto(5)))
        self.assertEqual('compute RPC version cap set to 6.3',
                         pinning.change_message(None, old))
