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
"""A steady load of compute RPC calls and casts, with a full account.

One thread per compute sends, in a loop, a ping call and two casts
(reboot_instance, backup_instance) through an auto-pinned ComputeAPI.
Every message is counted: a call is answered, rejected (any error,
UnsupportedVersion from an old compute included) or lost (it timed out);
a cast is rejected when the client refuses to send it, otherwise it is
handled or lost. Each cast names an instance of its own,
``load-<host>-<n>``: that is the message's identity, and the compute
records the instances of the casts it handled (``get_handled``), so a
cast handled late is still matched to the message that was sent. The
generator is paused for a host while it is drained and restarted.

Each round also sends a versioned Task through the conductor (when an
objects API is given): a call, dispatch_task(), which the conductor
passes on to the compute by a call (update_task(), which calls the
conductor's task_update() in turn), and a cast, the conductor's
record_task() to the compute (which calls task_update() and casts
task_record() to the conductor), so a Task goes both ways between
computes and conductors in calls and casts. Every receiver checks each
Task field by field against what its release defines; the call's answer
is checked here too. The Task traffic alone is paused while the
conductor is replaced.
"""

import collections
import threading
import time

from oslo_log import log as logging

from nova_versioning.objects import task as task_obj

LOG = logging.getLogger(__name__)

CAST_METHODS = ('reboot_instance', 'backup_instance')


class HostCounters(object):
    def __init__(self):
        self.sent = 0
        self.calls = 0
        self.answered = 0
        self.rejected = 0
        # Calls that timed out: nobody knows whether they were handled.
        self.lost = 0
        # Identities of the casts sent (the client did not refuse them).
        self.cast_ids = []
        self.errors = collections.Counter()
        # Tasks answered and checked here, and what was wrong with them.
        self.objects_checked = 0
        self.object_problems = []

    @property
    def casts(self):
        return len(self.cast_ids)

    def as_dict(self):
        return {'sent': self.sent, 'calls': self.calls,
                'answered': self.answered, 'rejected': self.rejected,
                'lost': self.lost, 'casts': self.casts}


class LoadGenerator(object):
    """Sends to every active host until stopped.

    :param api: callable returning the ComputeAPI to send through (the
        runner swaps it when its controllers are upgraded).
    :param context: request context.
    :param interval: pause between two rounds to one host, in seconds.
    :param objects_api: callable returning the ConductorAPI the Tasks are
        sent through, or None (no Task traffic).
    :param check_answer: callable(host, task) returning the problems of
        the Task a dispatch_task() call answered (empty: as expected).
    """

    def __init__(self, api, context, interval=0.05, objects_api=None,
                 check_answer=None):
        self._api = api
        self.context = context
        self.interval = interval
        self._objects_api = objects_api
        self._check_answer = check_answer
        self._lock = threading.Lock()
        self._hosts = {}
        self._stop = threading.Event()
        self._objects = threading.Event()
        self._objects.set()

    def pause_objects(self):
        """Stop sending Tasks; returns once none is under way."""
        self._objects.clear()
        for entry in list(self._hosts.values()):
            with entry['busy']:
                pass

    def resume_objects(self):
        self._objects.set()

    def add_host(self, host):
        with self._lock:
            entry = self._hosts.get(host)
            if entry is None:
                entry = {'counters': HostCounters(), 'sequence': 0,
                         'active': threading.Event(), 'busy': threading.Lock()}
                self._hosts[host] = entry
                threading.Thread(target=self._run, args=(host, entry),
                                 daemon=True, name='load-%s' % host).start()
            entry['active'].set()

    def pause(self, host):
        """Stop sending to host; returns once no message is under way."""
        entry = self._hosts[host]
        entry['active'].clear()
        with entry['busy']:
            pass

    def resume(self, host):
        self._hosts[host]['active'].set()

    def hosts(self):
        return sorted(self._hosts)

    def take(self, host):
        """The counters of host since the last take (and reset them)."""
        with self._lock:
            entry = self._hosts[host]
            counters = entry['counters']
            entry['counters'] = HostCounters()
        return counters

    def stop(self):
        self._stop.set()
        for entry in self._hosts.values():
            entry['active'].set()

    def _run(self, host, entry):
        while not self._stop.is_set():
            entry['active'].wait()
            if self._stop.is_set():
                return
            with entry['busy']:
                if entry['active'].is_set():
                    self._round(host, entry)
            time.sleep(self.interval)

    def _round(self, host, entry):
        api = self._api()
        counters = entry['counters']
        counters.sent += 1
        counters.calls += 1
        try:
            api.ping(self.context, host, 'load', trace_id='grenade')
            counters.answered += 1
        except Exception as exc:
            _count_failed_call(counters, exc)
        for method in CAST_METHODS:
            entry['sequence'] += 1
            message_id = 'load-%s-%d' % (host, entry['sequence'])
            counters.sent += 1
            try:
                if method == 'reboot_instance':
                    api.reboot_instance(self.context, host, message_id)
                else:
                    api.backup_instance(self.context, host, message_id,
                                        'grenade', rotation=1)
            except Exception as exc:
                counters.rejected += 1
                counters.errors[_error_name(exc)] += 1
            else:
                counters.cast_ids.append(message_id)
        if self._objects_api is not None and self._objects.is_set():
            self._tasks(host, entry, counters)

    def _tasks(self, host, entry, counters):
        api = self._objects_api()
        entry['sequence'] += 1
        name = 'task-%s-%d' % (host, entry['sequence'])
        counters.sent += 1
        counters.calls += 1
        try:
            answer = api.dispatch_task(self.context, host,
                                       task_obj.sample(name))
            problems = self._check_answer(host, answer)
        except Exception as exc:
            _count_failed_call(counters, exc)
        else:
            counters.objects_checked += 1
            if problems:
                counters.rejected += 1
                counters.errors['ObjectCheckFailed'] += 1
                counters.object_problems.extend(problems)
            else:
                counters.answered += 1
        entry['sequence'] += 1
        name = 'task-%s-%d' % (host, entry['sequence'])
        counters.sent += 1
        try:
            api.dispatch_task(self.context, host, task_obj.sample(name),
                              cast=True)
        except Exception as exc:
            counters.rejected += 1
            counters.errors[_error_name(exc)] += 1
        else:
            counters.cast_ids.append(name)


def _count_failed_call(counters, exc):
    """A call that raised: lost when it timed out, else rejected."""
    name = _error_name(exc)
    if name == 'MessagingTimeout':
        counters.lost += 1
    else:
        counters.rejected += 1
    counters.errors[name] += 1


def _error_name(exc):
    return getattr(exc, 'exc_type', None) or type(exc).__name__
