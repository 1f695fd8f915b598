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
"""Options a running service reads again: a bad value never stops it.

oslo.config checks a value from a configuration file only when it is read.
After a SIGHUP has re-read the files, a mutable option set to a value that
does not parse (``auto_refresh_interval = abc``) or is out of range raises
ConfigFileValueError on every read. Read through :class:`LastGoodOptions`,
such an option keeps its last good value (the default when none was read
yet), one error names the option, the bad value and the allowed forms, and
the next good value read applies.
"""

import threading

from oslo_log import log as logging

from nova_versioning.conf import service as service_conf
from nova_versioning.conf import values
from nova_versioning.conf import versioning as versioning_conf

LOG = logging.getLogger(__name__)

#: The options a running service reads after it started, by group (None:
#: DEFAULT). [upgrade_levels] is not here: a bad pin keeps the last good
#: pin (see nova_versioning.rpc.client.PinnedAPIs).
GUARDED = {
    None: ('report_interval',),
    'versioning': ('auto_refresh_interval', 'minimum_version_cache_ttl',
                   'minimum_version_lookup_timeout',
                   'object_backport_timeout', 'stale_service_timeout'),
}

_OPT_LISTS = {None: service_conf.service_opts,
              'versioning': versioning_conf.versioning_opts}

# id(conf) -> (conf, LastGoodOptions); a process has one or two.
_READERS = {}
_READERS_LOCK = threading.Lock()


def options(conf):
    """The LastGoodOptions of ``conf`` (GUARDED), one per ConfigOpts."""
    # Read without the lock first: an entry is never replaced for the
    # same ConfigOpts, only added.
    entry = _READERS.get(id(conf))
    if entry is not None and entry[0] is conf:
        return entry[1]
    with _READERS_LOCK:
        entry = _READERS.get(id(conf))
        if entry is None or entry[0] is not conf:
            opts = {group: [opt for opt in _OPT_LISTS[group]
                            if opt.name in names]
                    for group, names in GUARDED.items()}
            entry = (conf, LastGoodOptions(conf, opts))
            _READERS[id(conf)] = entry
        return entry[1]


_UNSET = object()


class LastGoodOptions(object):
    """Read a fixed set of options, keeping the last good value of each.

    :param conf: the ConfigOpts the options are registered on.
    :param opts: {group name, None for DEFAULT: [Opt]}, the options read
        through this object.
    """

    def __init__(self, conf, opts):
        self._conf = conf
        self._opts = {(group, opt.name): opt
                      for group, group_opts in opts.items()
                      for opt in group_opts}
        self._lock = threading.Lock()
        self._good = {}
        # (group, name) -> the bad value already reported.
        self._reported = {}
        # (group, name) -> last good value set as an override by reloaded().
        self._overrides = {}

    def _read(self, group, name):
        if group is None:
            return self._conf[name]
        return self._conf[group][name]

    def _opt(self, group, name):
        try:
            return self._opts[(group, name)]
        except KeyError:
            raise KeyError('[%s]/%s is not read through this object'
                           % (group or 'DEFAULT', name)) from None

    def get(self, group, name):
        """The value of [group]/name, or the last good one.

        :param group: the group name, None for DEFAULT.
        """
        opt = self._opt(group, name)
        key = (group, name)
        try:
            value = self._read(group, name)
        except ValueError as exc:
            return self._keep(key, opt, exc)
        # Readers on every lookup: take the lock only when something
        # changes.
        if key in self._reported or self._good.get(key, _UNSET) != value:
            with self._lock:
                self._good[key] = value
                self._reported.pop(key, None)
        return value

    def current(self, group, name):
        """:meth:`get`, at the cost of a dictionary lookup when it can be.

        oslo.config keeps every value it has read in a cache that it
        empties on each change (``set_override``, ``clear_override``,
        ``set_default``, a reload, ``mutate_config_files``...): while that
        cache holds the option, it holds the option's current value, and a
        value that failed to parse is never in it. When that value is also
        the last good one known here (nothing to record), it is returned
        as it is; otherwise, and with an oslo.config whose cache is not
        where this looks, :meth:`get` reads it.

        For the readers on every cached minimum-version lookup.
        """
        key = (group, name)
        cache = getattr(self._conf, '_ConfigOpts__cache', None)
        if type(cache) is dict:
            value = cache.get(key, _UNSET)
            if (value is not _UNSET and key not in self._reported
                    and self._good.get(key, _UNSET) == value):
                return value
        return self.get(group, name)

    def _fallback(self, key, opt):
        if key in self._good:
            return self._good[key], 'the last good value'
        return opt.default, 'the default'

    def _keep(self, key, opt, exc):
        error = self.invalid(key[0], key[1], exc)
        with self._lock:
            value, what = self._fallback(key, opt)
            report = (key not in self._reported or
                      self._reported[key] != error.value)
            self._reported[key] = error.value
        if report:
            self._log(error, value, what)
        return value

    @staticmethod
    def _log(error, value, what):
        LOG.error('%(error)s. Keeping %(value)s (%(what)s), still serving; '
                  'fix the value and send SIGHUP to apply it.',
                  {'error': error, 'value': value, 'what': what})

    def invalid(self, group, name, exc=None):
        """InvalidOption naming [group]/name, its value and its forms."""
        return values.invalid_option(self._conf, group,
                                     self._opt(group, name), exc)

    def validate(self):
        """Read every option once; raise InvalidOption for the first bad.

        For startup, where a bad value refuses to start the service. The
        values read become the last good ones.
        """
        for group, name in self._opts:
            try:
                value = self._read(group, name)
            except ValueError as exc:
                raise self.invalid(group, name, exc) from None
            with self._lock:
                self._good[(group, name)] = value

    def reloaded(self):
        """After the files were read again: pin every bad value.

        Meant for a mutate hook (see :meth:`register`). An option whose new
        value is bad is overridden with its last good value (the default
        when none is known), so that every reader of the configuration in
        this process, and in a worker forked from it, sees a good value;
        one error per bad option is logged. A good value replaces the
        override of an earlier reload.
        """
        for (group, name), opt in self._opts.items():
            key = (group, name)
            with self._lock:
                overridden = key in self._overrides
            if overridden:
                self._conf.clear_override(name, group)
            try:
                value = self._read(group, name)
            except ValueError as exc:
                error = self.invalid(group, name, exc)
                with self._lock:
                    value, what = self._fallback(key, opt)
                    self._overrides[key] = value
                    self._reported[key] = error.value
                self._conf.set_override(name, value, group)
                self._log(error, value, what)
                continue
            with self._lock:
                self._overrides.pop(key, None)
                self._reported.pop(key, None)
                self._good[key] = value

    def register(self):
        """Call :meth:`reloaded` after each mutate_config_files()."""
        self._conf.register_mutate_hook(self._mutate_hook)

    def _mutate_hook(self, conf, changed):
        # Runs inside mutate_config_files(): must never raise there.
        try:
            self.reloaded()
        except Exception:
            LOG.exception('Could not check the reloaded options')

    def forget(self):
        """Forget every last good value and override (tests)."""
        with self._lock:
            overrides = list(self._overrides)
            self._overrides.clear()
            self._good.clear()
            self._reported.clear()
        for group, name in overrides:
            self._conf.clear_override(name, group)
