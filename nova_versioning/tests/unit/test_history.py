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
"""The version history: the default table itself, and its validation."""

import re
from unittest import mock

from nova_versioning import exception
from nova_versioning import history
from nova_versioning.tests import base

RPC_VERSION_RE = re.compile(r'^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$')
APIS = ('compute', 'conductor', 'scheduler')
EMULATED = '[versioning]/emulated_release'


def _v(text):
    major, minor = text.split('.')
    return int(major), int(minor)


class TestDefaultHistoryTable(base.TestCase):
    """Validate the declarative table of the sample services."""

    def test_service_version_is_last_index(self):
        self.assertEqual(len(history.SERVICE_VERSION_HISTORY) - 1,
                         history.SERVICE_VERSION)
        self.assertEqual(history.SERVICE_VERSION,
                         history.default_history().service_version)

    def test_every_entry_names_every_api(self):
        for version, entry in enumerate(history.SERVICE_VERSION_HISTORY):
            self.assertEqual(
                sorted(api + '_rpc' for api in APIS), sorted(entry),
                'service version %d' % version)

    def test_every_rpc_version_is_x_y(self):
        for version, entry in enumerate(history.SERVICE_VERSION_HISTORY):
            for key, value in entry.items():
                self.assertIsNotNone(
                    RPC_VERSION_RE.match(value),
                    'service version %d: %s=%r' % (version, key, value))

    def test_rpc_versions_never_go_down(self):
        entries = history.SERVICE_VERSION_HISTORY
        for version in range(1, len(entries)):
            for key in entries[version]:
                self.assertGreaterEqual(
                    _v(entries[version][key]), _v(entries[version - 1][key]),
                    'service version %d: %s goes down' % (version, key))

    def test_every_bump_changes_something_or_is_the_first(self):
        # Version 1 only starts recording versions; every later bump must
        # change at least one RPC version, or the bump is pointless for
        # pinning and should be explained in a new API here.
        entries = history.SERVICE_VERSION_HISTORY
        for version in range(2, len(entries)):
            self.assertNotEqual(entries[version - 1], entries[version],
                                'service version %d' % version)

    def test_aliases_lower_case(self):
        for alias in history.RELEASES:
            self.assertEqual(alias.lower(), alias)
            self.assertIsNotNone(re.match(r'^[a-z][a-z0-9_.-]*$', alias))

    def test_aliases_strictly_increasing_and_in_range(self):
        versions = list(history.RELEASES.values())
        self.assertEqual(sorted(set(versions)), versions)
        for alias, version in history.RELEASES.items():
            self.assertGreaterEqual(version, 1, alias)
            self.assertLessEqual(version, history.SERVICE_VERSION, alias)

    def test_newest_release_is_the_service_version(self):
        self.assertEqual(history.SERVICE_VERSION,
                         list(history.RELEASES.values())[-1])

    def test_oldest_supported_is_an_alias(self):
        self.assertIn(history.OLDEST_SUPPORTED_RELEASE, history.RELEASES)

    def test_at_least_five_releases_with_distinct_compute_rpc(self):
        compute = [history.SERVICE_VERSION_HISTORY[v]['compute_rpc']
                   for v in history.RELEASES.values()]
        self.assertGreaterEqual(len(compute), 5)
        self.assertEqual(len(compute), len(set(compute)))

    def test_exact_table(self):
        # The releases and what each speaks; a change here must be a
        # deliberate bump, reviewed with the RPC API change it records.
        hist = history.default_history()
        self.assertEqual(7, hist.service_version)
        self.assertEqual(['compute', 'conductor', 'scheduler'], hist.apis)
        self.assertEqual(
            {'liberty': 1, 'mitaka': 2, 'newton': 3, 'ocata': 5, 'pike': 6,
             'queens': 7}, hist.releases)
        self.assertEqual(
            ['6.0', '6.1', '6.2', '6.3', '6.4', '6.5'],
            [hist.rpc_version('compute', v)
             for v in hist.releases.values()])
        self.assertEqual('ocata', hist.oldest_supported)
        self.assertEqual(4, hist.oldest_supported_version)
        self.assertEqual('6.5', hist.latest_rpc_version('compute'))
        self.assertEqual('3.2', hist.latest_rpc_version('conductor'))
        self.assertEqual('2.2', hist.latest_rpc_version('scheduler'))

    def test_release_of_and_describe(self):
        hist = history.default_history()
        self.assertEqual('liberty', hist.release_of(1))
        self.assertEqual('ocata', hist.release_of(4))
        self.assertEqual('ocata', hist.release_of(5))
        self.assertEqual('queens', hist.release_of(7))
        self.assertIsNone(hist.release_of(8))
        self.assertEqual('5 (ocata)', hist.describe(5))
        self.assertEqual('7 (queens)', hist.describe(7))
        self.assertEqual('8', hist.describe(8))


GOOD = [
    {'a_rpc': '1.0'},
    {'a_rpc': '1.1', 'b_rpc': '2.0'},
    {'a_rpc': '1.2', 'b_rpc': '2.0'},
]
GOOD_RELEASES = {'one': 1, 'two': 2}


class TestVersionHistoryValidation(base.TestCase):

    def _make(self, entries=None, releases=None, oldest='one'):
        return history.VersionHistory(
            'test', GOOD if entries is None else entries,
            GOOD_RELEASES if releases is None else releases, oldest)

    def _assert_invalid(self, reason, **kw):
        exc = self.assertRaises(exception.InvalidHistory, self._make, **kw)
        self.assertEqual('Invalid service version history test: %s' % reason,
                         str(exc))

    def test_good(self):
        hist = self._make()
        self.assertEqual(2, hist.service_version)
        self.assertEqual(['a', 'b'], hist.apis)
        self.assertEqual('1.1', hist.rpc_version('a', 1))
        self.assertEqual(1, hist.oldest_supported_version)

    def test_oldest_supported_version_after_previous_release(self):
        self.assertEqual(2, self._make(oldest='two').oldest_supported_version)

    def test_empty(self):
        self._assert_invalid('the history is empty', entries=[])

    def test_newest_names_no_api(self):
        self._assert_invalid('the newest entry names no RPC API',
                             entries=[{}, {}])

    def test_goes_down(self):
        self._assert_invalid(
            'entry 2: a_rpc goes down from 1.1 to 1.0',
            entries=GOOD[:2] + [{'a_rpc': '1.0', 'b_rpc': '2.0'}])

    def test_goes_down_major(self):
        self._assert_invalid(
            'entry 2: b_rpc goes down from 2.0 to 1.9',
            entries=GOOD[:2] + [{'a_rpc': '1.2', 'b_rpc': '1.9'}])

    def test_versions_compared_as_numbers(self):
        # 1.10 is newer than 1.9, not older as a string comparison says.
        hist = self._make(entries=[{'a_rpc': '1.9'}, {'a_rpc': '1.10'}],
                          releases={'one': 1})
        self.assertEqual('1.10', hist.latest_rpc_version('a'))

    def test_drops_an_api(self):
        self._assert_invalid(
            'entry 2 drops b_rpc',
            entries=GOOD[:2] + [{'a_rpc': '1.2'}])

    def test_malformed_versions(self):
        for bad in ('1', '1.2.3', 'v1.0', '01.0', '1.01', '', '1.x', ' 1.0',
                    '1.0\n'):
            self._assert_invalid(
                'entry 1: b_rpc=%r is not an "X.Y" version' % bad,
                entries=[GOOD[0], {'a_rpc': '1.1', 'b_rpc': bad}, GOOD[2]])

    def test_non_string_version(self):
        self._assert_invalid(
            'entry 0: a_rpc=1.0 is not an "X.Y" version',
            entries=[{'a_rpc': 1.0}] + GOOD[1:])

    def test_key_without_rpc_suffix(self):
        self._assert_invalid(
            "entry 0: key 'a' does not end with '_rpc'",
            entries=[{'a': '1.0'}] + GOOD[1:])

    def test_bad_alias_order(self):
        self._assert_invalid(
            'release one (service version 1) does not come after the '
            'previous release (service version 2)',
            releases={'two': 2, 'one': 1})

    def test_duplicate_alias_version(self):
        self._assert_invalid(
            'release two (service version 1) does not come after the '
            'previous release (service version 1)',
            releases={'one': 1, 'two': 1})

    def test_alias_above_range(self):
        self._assert_invalid(
            'release two maps to service version 3, outside 1..2',
            releases={'one': 1, 'two': 3})

    def test_alias_zero(self):
        self._assert_invalid(
            'release zero maps to service version 0, outside 1..2',
            releases={'zero': 0, 'one': 1}, oldest='one')

    def test_alias_not_an_int(self):
        self._assert_invalid(
            "release two maps to '2', not a service version",
            releases={'one': 1, 'two': '2'})
        self._assert_invalid(
            'release two maps to True, not a service version',
            releases={'one': 1, 'two': True})

    def test_alias_upper_case(self):
        self._assert_invalid(
            "release name 'Two' is not a lower-case name",
            releases={'one': 1, 'Two': 2})

    def test_alias_ambiguous_with_pin(self):
        self._assert_invalid(
            "release name 'auto' is ambiguous with a pin value",
            releases={'one': 1, 'auto': 2})

    def test_unknown_oldest_supported(self):
        self._assert_invalid(
            "oldest supported release 'zed' is not a known release",
            oldest='zed')

    def test_rpc_version_of_api_missing_in_entry(self):
        hist = self._make()
        exc = self.assertRaises(exception.InvalidHistory,
                                hist.rpc_version, 'b', 0)
        self.assertEqual(
            'Invalid service version history test: service version 0 does '
            'not name the b RPC version (b_rpc)', str(exc))

    def test_rpc_version_of_unknown_api(self):
        exc = self.assertRaises(exception.InvalidHistory,
                                history.default_history().rpc_version,
                                'network', 7)
        self.assertIn('network', str(exc))
        self.assertIn('network_rpc', str(exc))

    def test_rpc_version_out_of_range(self):
        hist = self._make()
        for bad in (-1, 3):
            exc = self.assertRaises(exception.InvalidHistory,
                                    hist.rpc_version, 'a', bad)
            self.assertEqual(
                'Invalid service version history test: service version %d '
                'is outside 0..2' % bad, str(exc))

    def test_entries_are_copied(self):
        entries = [dict(e) for e in GOOD]
        hist = self._make(entries=entries)
        entries[2]['a_rpc'] = '0.1'
        self.assertEqual('1.2', hist.latest_rpc_version('a'))


class TestParseRelease(base.TestCase):

    def setUp(self):
        super().setUp()
        self.hist = history.default_history()

    def test_alias(self):
        self.assertEqual(6, self.hist.parse_release('pike', EMULATED))
        self.assertEqual(1, self.hist.parse_release('liberty', EMULATED))

    def test_alias_case_and_space_insensitive(self):
        self.assertEqual(6, self.hist.parse_release(' Pike ', EMULATED))

    def test_number(self):
        self.assertEqual(4, self.hist.parse_release('4', EMULATED))
        self.assertEqual(4, self.hist.parse_release(4, EMULATED))
        self.assertEqual(1, self.hist.parse_release('1', EMULATED))
        self.assertEqual(7, self.hist.parse_release('7', EMULATED))

    def test_bad_values(self):
        for bad in ('juno', '0', '8', '-1', '6.4', '', 'auto', 0, 8):
            exc = self.assertRaises(exception.InvalidRelease,
                                    self.hist.parse_release, bad, EMULATED)
            self.assertEqual(
                'Invalid value %r for option [versioning]/emulated_release: '
                'expected a release name (liberty, mitaka, newton, ocata, '
                'pike, queens) or a service version from 1 to 7.' % (bad,),
                str(exc))


class TestThisServiceVersion(base.TestCase):

    def test_default_is_newest(self):
        self.assertEqual(7, history.this_service_version())

    def test_emulated_alias(self):
        self.flags(emulated_release='ocata', group='versioning')
        self.assertEqual(5, history.this_service_version())

    def test_emulated_number(self):
        self.flags(emulated_release='3', group='versioning')
        self.assertEqual(3, history.this_service_version())

    def test_emulated_bad(self):
        self.flags(emulated_release='grizzly', group='versioning')
        exc = self.assertRaises(exception.InvalidRelease,
                                history.this_service_version)
        self.assertIn("'grizzly'", str(exc))
        self.assertIn(EMULATED, str(exc))

    def test_explicit_conf(self):
        self.flags(emulated_release='pike', group='versioning')
        self.assertEqual(6, history.this_service_version(self.conf))


class TestHistoryProvider(base.TestCase):

    def test_default_provider(self):
        hist = history.get_history()
        self.assertIsInstance(hist, history.VersionHistory)
        self.assertEqual('default', hist.name)
        self.assertEqual(history.SERVICE_VERSION, hist.service_version)
        self.assertEqual(history.RELEASES, hist.releases)

    def test_loaded_once(self):
        self.assertIs(history.get_history(), history.get_history())

    def test_clear_reloads(self):
        first = history.get_history()
        history.REGISTRY.clear()
        self.assertIsNot(first, history.get_history())

    def test_unknown_provider(self):
        self.flags(history_provider='no-such-provider', group='versioning')
        exc = self.assertRaises(exception.InvalidHistory,
                                history.get_history)
        self.assertTrue(str(exc).startswith(
            'Invalid service version history no-such-provider: no provider '
            'of that name in the nova_versioning.history entry point '
            'group'), str(exc))
        # and the failure is not cached as a success later
        self.assertRaises(exception.InvalidHistory, history.get_history)

    def test_provider_returning_wrong_type(self):
        fake_mgr = mock.Mock()
        fake_mgr.driver.return_value = {'not': 'a history'}
        with mock.patch.object(history.driver, 'DriverManager',
                               return_value=fake_mgr) as dm:
            exc = self.assertRaises(exception.InvalidHistory,
                                    history.get_history)
        dm.assert_called_once_with('nova_versioning.history', 'default',
                                   invoke_on_load=False)
        self.assertEqual(
            "Invalid service version history default: the provider "
            "returned {'not': 'a history'}, not a VersionHistory",
            str(exc))

    def test_provider_selected_by_option(self):
        custom = history.VersionHistory('custom', GOOD, GOOD_RELEASES,
                                        'one')
        fake_mgr = mock.Mock()
        fake_mgr.driver.return_value = custom
        self.flags(history_provider='custom', group='versioning')
        with mock.patch.object(history.driver, 'DriverManager',
                               return_value=fake_mgr) as dm:
            self.assertIs(custom, history.get_history())
            self.assertEqual(2, history.this_service_version())
        dm.assert_called_once_with('nova_versioning.history', 'custom',
                                   invoke_on_load=False)
