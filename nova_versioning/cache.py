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
"""Per-process TTL cache of minimum service versions, single-flight.

A minimum version changes only when a service of that binary is upgraded,
deleted or forced down, so a short TTL absorbs the storm of lookups when
many services start at once. Concurrent callers asking for a binary that is
not cached share one database query: the first one runs it, the others
wait for its answer (single-flight).

A fresh lookup (``fresh=True``: a reload, which must see an upgrade at
once) skips the cached answers but keeps single-flight: it shares a query
already under way, and starts one otherwise; its answer replaces the
cached one.

``clear()`` forgets everything and detaches queries already under way, so
an answer read before the clear is never cached after it (what a reload
relies on).

0 ("no such service") is never cached, so the first registration is seen
at once. Instead, a process that registers the first record of a binary
itself knows the minimum without asking: :meth:`MinimumVersionCache.seed`
(see there for why this holds across processes).
"""

import threading
import time


class _Flight(object):
    """One database query under way, awaited by every caller that needs it."""

    def __init__(self):
        self.done = threading.Event()
        self.values = None
        self.error = None
        # binary -> version seeded while the query ran: a record this
        # process admitted that the query may have missed.
        self.seeds = {}


class MinimumVersionCache(object):
    """Cache of binary -> minimum service version.

    :param ttl: callable returning the TTL in seconds (read on every
        lookup, so a reloaded option applies at once); 0 disables caching
        but keeps single-flight.
    :param clock: monotonic clock, replaceable in tests.
    """

    def __init__(self, ttl, clock=time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries = {}
        self._inflight = {}
        self._scope = None
        # Bumped whenever something cached may have become wrong (clear,
        # forget, new scope): a seed taken before then is dropped.
        self._generation = 0
        self.loads = 0

    @property
    def generation(self):
        """Token for seed(): read it before the guard's lookup."""
        with self._lock:
            return self._generation

    def get_multi(self, binaries, load, scope=None, fresh=False):
        """Minimum version of each binary.

        :param binaries: iterable of binary names.
        :param load: callable taking a list of binaries and returning a
            dict binary -> int for all of them, in one query.
        :param scope: what the answers depend on besides the binary (the
            stale service timeout). When it differs from the scope of the
            previous lookup, everything cached or under way is forgotten
            first, as by clear(): answers of different scopes never mix.
        :param fresh: skip the cached answers: every binary is read by a
            query, one under way (shared) or a new one.
        """
        binaries = list(dict.fromkeys(binaries))
        ttl = self._ttl()
        found = {}
        waiting = {}
        missing = []
        with self._lock:
            if scope != self._scope:
                self._entries.clear()
                self._inflight.clear()
                self._scope = scope
                self._generation += 1
            now = self._clock()
            for binary in binaries:
                entry = None if fresh else self._entries.get(binary)
                if entry is not None and entry[1] > now:
                    found[binary] = entry[0]
                elif binary in self._inflight:
                    waiting[binary] = self._inflight[binary]
                else:
                    missing.append(binary)
            if missing:
                flight = _Flight()
                for binary in missing:
                    self._inflight[binary] = flight
                self.loads += 1
        if missing:
            found.update(self._run(flight, missing, load, ttl))
        for binary, other in waiting.items():
            other.done.wait()
            if other.error is not None:
                raise other.error
            found[binary] = other.values[binary]
        return {binary: found[binary] for binary in binaries}

    def _run(self, flight, binaries, load, ttl):
        try:
            values = load(binaries)
            values = {binary: int(values.get(binary, 0))
                      for binary in binaries}
        except BaseException as exc:
            flight.error = exc
            self._land(flight, binaries, None, ttl)
            raise
        self._land(flight, binaries, values, ttl)
        return values

    def _land(self, flight, binaries, values, ttl):
        flight.values = values
        with self._lock:
            expires = self._clock() + ttl
            for binary in binaries:
                if self._inflight.get(binary) is not flight:
                    # cleared while the query ran: answer the callers
                    # already waiting, but do not cache a stale answer.
                    continue
                del self._inflight[binary]
                # 0 means "no such service yet": never cached, so the
                # first one to register is seen at once.
                if values is None:
                    continue
                value = values[binary]
                seeded = flight.seeds.get(binary)
                if seeded is not None:
                    value = min(value, seeded) if value else seeded
                if ttl > 0 and value > 0:
                    self._entries[binary] = (value, expires)
                else:
                    # A fresh lookup may have found none where an older
                    # answer is cached: that answer is wrong now.
                    self._entries.pop(binary, None)
        flight.done.set()

    def get(self, binary, load, scope=None, fresh=False):
        """Minimum version of one binary (see :meth:`get_multi`).

        A cached, unexpired answer of the current scope is read without
        taking the lock: the entry is one tuple, replaced whole, so a
        reader sees either the old or the new one, as if it had read just
        before or just after the writer.
        """
        if not fresh and scope == self._scope:
            entry = self._entries.get(binary)
            if entry is not None and entry[1] > self._clock():
                return entry[0]
        return self.get_multi([binary], load, scope=scope,
                              fresh=fresh)[binary]

    def peek(self, binary):
        """The cached, unexpired minimum of ``binary``, or None."""
        with self._lock:
            entry = self._entries.get(binary)
            if entry is not None and entry[1] > self._clock():
                return entry[0]
            return None

    def seed(self, binary, version, generation):
        """Cache the version of the first record of a binary, just made.

        This process registered ``binary`` at ``version``, admitted against
        a minimum of 0 (no counted record). Without this, a startup storm
        on an empty table reads the minimum twice per binary: once to find
        0, which is not cached, and again as soon as the first record
        exists.

        Why ``version`` is the minimum, across processes: a guard that
        reads after our record committed sees it, and admits nothing below
        it; a lookup in this process that raced with the registration
        keeps the lower of its answer and the seed. What this process
        cannot see is a record another process admitted *concurrently*,
        its guard having read 0 before our commit, at a lower version:
        the guard at 0 is not serialised (in Nova neither). Reading again
        after our commit would not close that gap: the other transaction
        may commit after any read we make. Either way the TTL bounds how
        long a lower record goes unseen, as it bounds any cached answer.

        Nothing is cached when caching is off, when ``generation`` is not
        the current one (a clear, forget or new scope since the guard read
        its 0: the 0 may be stale), or when a lower minimum is cached.
        """
        ttl = self._ttl()
        if ttl <= 0:
            return
        with self._lock:
            if generation != self._generation:
                return
            now = self._clock()
            entry = self._entries.get(binary)
            flight = self._inflight.get(binary)
            if flight is not None:
                seeded = flight.seeds.get(binary)
                flight.seeds[binary] = (version if seeded is None
                                        else min(seeded, version))
            if entry is not None and entry[1] > now:
                if version < entry[0]:
                    self._entries[binary] = (version, entry[1])
                return
            self._entries[binary] = (version, now + ttl)

    def forget(self, binary):
        """Drop the cached minimum of one binary (after a local write)."""
        with self._lock:
            self._entries.pop(binary, None)
            self._inflight.pop(binary, None)
            self._generation += 1

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._inflight.clear()
            self._generation += 1
