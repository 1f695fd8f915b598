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
"""The oslo.service Service of the sample services.

Life of a service process:

1. ``prepare()``, in the launching process before any worker exists:
   every [upgrade_levels] value and every option read again later
   (lastgood.GUARDED) is validated, a control service checks
   that no counted nova-compute is older than the oldest supported release
   (guard 2), the pins of the APIs sent to other binaries are resolved
   (a service older than receivers it does not expect to be newer is
   refused), the service registers its record (guard 1 runs in the
   Service object), and the pins of the APIs sent to its own binary are
   resolved. Any refusal ends the process with one line naming the
   versions and the fix, before anything is served; a refusal before the
   registration writes nothing.
2. ``start()``, in the worker: RPC transport, manager and its clients,
   every pin resolved, RPC server, heartbeat, optional pin refresh timer.
3. Reload on SIGHUP, which differs by oslo.service backend:

   * threading (the default): the worker re-reads the configuration
     files and resolves every pin again in place, while it serves
     (:meth:`RPCService.request_reload`, from cmd/service.py's
     ThreadingWorker);
   * eventlet: the configuration is mutated in place and ``reset()``
     clears the minimum version cache and resolves every pin again.

   Either way a pin that cannot be resolved (database or conductor
   unreachable, a bad value in the configuration file) keeps its last good
   value, one error names the cause, and the service keeps serving; the
   next SIGHUP tries again. The last good pins are kept on disk
   (rpc.pinstore) for a threading worker forked again after one died.
   Likewise an option read after startup (report_interval,
   auto_refresh_interval, the minimum version cache TTL, the stale service
   timeout, the conductor lookup timeout) that was given a bad value keeps
   its last good value, with one error naming the option, the value and
   the allowed forms (conf.lastgood): the check runs where the files are
   re-read.
"""

import os
import random
import signal
import threading

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_service import loopingcall
from oslo_service import service
from oslo_utils import timeutils

from nova_versioning.conductor import rpcapi as conductor_rpcapi
from nova_versioning import conf as nv_conf
from nova_versioning.conf import lastgood
from nova_versioning import context as nv_context
from nova_versioning import exception
from nova_versioning import guards
from nova_versioning import history as nv_history
from nova_versioning import objects
from nova_versioning.objects import base as obj_base
from nova_versioning import records
from nova_versioning import rpc
from nova_versioning.rpc import broker
from nova_versioning.rpc import client as rpc_client
from nova_versioning.rpc import pinstore

LOG = logging.getLogger(__name__)
CONF = nv_conf.CONF


class RPCService(service.Service):
    """Registers, guards, pins its RPC clients and serves its RPC API.

    :param binary: "nova-<name>", the record's binary.
    :param topic: RPC topic the server listens on.
    :param manager_cls: endpoint class (a nova_versioning.manager.Manager);
        the RPC clients it holds (CLIENT_APIS) are pinned per
        [upgrade_levels].
    :param control: a control service, which runs guard 2 at startup.
    :param db_access: False for a service that reaches the database only
        through the conductor (versioned-object indirection); its
        manager's conductor client is the indirection API.
    """

    def __init__(self, binary, topic, manager_cls, host=None, conf=None,
                 control=False, db_access=True, transport=None):
        super().__init__()
        self.conf = conf or CONF
        self.binary = binary
        self.topic = topic
        self.host = host or self.conf.host
        self.manager_cls = manager_cls
        self.control = control
        self.db_access = db_access
        self.manager = None
        self.apis = None
        self.record = None
        # A transport given by the caller (several services in one process
        # on an in-process transport) is the caller's to clean up.
        self._shared_transport = transport
        self._transport = None
        self._server = None
        self._heartbeat = None
        self._refresher = None
        # Set in the launching process by a reload (SIGHUP): a worker
        # started after it reads the minimum versions fresh.
        self._reloaded = False
        # Sample services check their broker before registering; a caller
        # with a shared (in-process) transport has nothing to check.
        self.check_broker = transport is None
        self._indirection_token = None
        # The worker's reload thread and its request (threading backend),
        # made on the first SIGHUP: see request_reload().
        self._reload_wanted = None
        self._reloader = None

    @property
    def history(self):
        return nv_history.get_history(self.conf)

    @property
    def service_version(self):
        return nv_history.this_service_version(self.conf)

    @property
    def options(self):
        """Options read after startup, each keeping its last good value."""
        return lastgood.options(self.conf)

    @property
    def pin_store(self):
        return pinstore.PinStore(self.conf.state_path, self.binary,
                                 self.host)

    def _context(self):
        return nv_context.get_admin_context()

    # -- launching process --------------------------------------------------

    def prepare(self):
        """Validate, guard, pin and register, before any worker starts.

        The pins are resolved here once and kept on disk, so a worker
        always has last good pins to fall back on.

        :raises: InvalidPin, InvalidOption, InvalidRelease,
            TooOldComputeService,
            ServiceTooOld, PinResolutionFailed, database errors: all meant
            for the operator.
        """
        history = self.history
        # Every pin, not only those of the APIs this service sends to: a
        # value no service could use is refused wherever it is written.
        rpc_client.validate_pins(self.conf, history)
        self.options.validate()
        # Each reload then checks them where the files are read again:
        # before the eventlet reset(), in the threading worker before it
        # resolves the pins again.
        self.options.register()
        self.conf.register_mutate_hook(self._config_mutated)
        LOG.info('%(binary)s on %(host)s runs service version %(version)s',
                 {'binary': self.binary, 'host': self.host,
                  'version': history.describe(self.service_version)})
        # A start that cannot reach the broker ends here, before the
        # record is written, rather than registering and never serving.
        if self.check_broker:
            broker.check(self.conf)
        transport = None
        if not self.db_access:
            transport = rpc.get_transport(self.conf)
            self._use_conductor(conductor_rpcapi.ConductorAPI(
                transport, conf=self.conf))
        try:
            context = self._context()
            if self.control:
                guards.check_oldest_supported_computes(context, self.binary,
                                                       self.conf)
            self._register_and_pin(context,
                                   transport or self._shared_transport)
        finally:
            if transport is not None:
                self._release_conductor()
                transport.cleanup()

    def _register_and_pin(self, context, transport):
        """Resolve the first pins around the registration.

        The pins of APIs sent to other binaries are resolved before the
        record is written, so a service that cannot pin them (older than
        receivers it does not expect to be newer) is refused with nothing
        written. Registering changes only the minimum of this service's own
        binary, and guard 1 speaks for a host older than its own kind: the
        pins of APIs sent to it are resolved once the record is written.
        """
        # Clients on a transport that never connects here: resolving only
        # reads minimum versions (database, or conductor for a compute).
        if transport is None:
            transport = rpc.get_transport(self.conf)
            owned = transport
        else:
            owned = None
        try:
            apis = [api_cls(transport, conf=self.conf)
                    for api_cls in self.manager_cls.CLIENT_APIS]
            rpc_client.PinnedAPIs(
                api for api in apis
                if api.BINARY != self.binary).resolve_all(context)
            self.record = self._register(context)
            rpc_client.PinnedAPIs(
                api for api in apis
                if api.BINARY == self.binary).resolve_all(context)
            self.pin_store.save(dict(rpc_client.PinnedAPIs(
                apis).decisions()))
        finally:
            if owned is not None:
                owned.cleanup()

    def _register(self, context):
        record = objects.Service.get_by_host_and_binary(
            context, self.host, self.binary)
        if record is None:
            record = objects.Service(context, host=self.host,
                                     binary=self.binary, topic=self.topic,
                                     report_count=0, disabled=False,
                                     forced_down=False,
                                     last_seen_up=timeutils.utcnow())
            record.create(conf=self.conf)
            LOG.info('Registered %(binary)s on %(host)s at version %(v)s',
                     {'binary': self.binary, 'host': self.host,
                      'v': record.version})
        else:
            if record.topic != self.topic:
                record.topic = self.topic
            # A save at startup re-registers: this version is written, and
            # the guard refuses a host older than the others of its kind.
            record.save(conf=self.conf)
            # Then a first heartbeat: a record that went stale while the
            # service was away counts again at once.
            record.last_seen_up = timeutils.utcnow()
            record.save()
            LOG.info('Re-registered %(binary)s on %(host)s at version '
                     '%(v)s', {'binary': self.binary, 'host': self.host,
                               'v': record.version})
        return record

    def _use_conductor(self, conductor_api):
        """Send remotable object methods through the conductor.

        Until stop(): the process-wide indirection API is shared by every
        service of the process, so each holds a token of its own
        (objects.base.INDIRECTION).
        """
        self._release_conductor()
        self._indirection_token = obj_base.INDIRECTION.use(conductor_api)
        return conductor_api

    def _release_conductor(self):
        """Give back this service's use of the indirection API."""
        obj_base.INDIRECTION.release(self._indirection_token)
        self._indirection_token = None

    # -- worker -------------------------------------------------------------

    def start(self):
        super().start()
        # A worker forked from the launching process inherits the cache it
        # filled while registering: start from the database.
        objects.Service.clear_min_version_cache()
        self._transport = (self._shared_transport or
                           rpc.get_transport(self.conf))
        self.manager = self.manager_cls(host=self.host, conf=self.conf,
                                        transport=self._transport)
        self.apis = rpc_client.PinnedAPIs(self.manager.client_apis.values())
        if not self.db_access:
            self._use_conductor(self.manager.client_apis[
                conductor_rpcapi.ConductorAPI.API_NAME])
        adopted = set()
        for name, decision in self.pin_store.load().items():
            api = self.manager.client_apis.get(name)
            if api is not None:
                api.adopt(decision)
                adopted.add(name)
        for api in self.apis:
            api.on_decision = self._record_pins
        # The worker a threading reload starts serves at once on the last
        # good pins, then resolves them: a database or conductor that does
        # not answer delays the new pins, never the service.
        serve_first = (self._reloaded and
                       set(self.manager.client_apis) <= adopted)
        if serve_first:
            self._serve()
        # The first worker starts with the pins prepare() decided and
        # logged: only a different decision is logged again. A worker
        # started by a reload logs every pin, changed or not.
        self.resolve_pins('start', fresh=self._reloaded,
                          quiet=not self._reloaded)
        self._load_record()
        if not serve_first:
            self._serve()
        self._heartbeat = loopingcall.FixedIntervalLoopingCall(
            self._report_state)
        interval = self.options.get(None, 'report_interval')
        self._heartbeat.start(interval=interval, initial_delay=interval)
        self._start_refresher()

    def _serve(self):
        target = messaging.Target(topic=self.topic, server=self.host)
        self._server = rpc.get_server(
            self._transport, target, [self.manager],
            serializer=self.manager.rpc_serializer())
        self._server.start()
        LOG.info('%(binary)s on %(host)s serving %(topic)s RPC version '
                 '%(version)s', {'binary': self.binary, 'host': self.host,
                                 'topic': self.topic,
                                 'version': self.manager.target.version})

    def resolve_pins(self, reason, fresh=False, quiet=False):
        """Resolve every pin again; keep the last good ones on failure.

        :param fresh: read the minimum versions past any cache (a reload).
        :param quiet: log only decisions that differ from the current ones.

        :returns: True when every pin was resolved.
        :raises PinResolutionFailed: only when a pin has no previous value
            to keep (nothing resolved yet, nothing on disk).
        """
        try:
            self.apis.resolve_all(self._context(), fresh=fresh, quiet=quiet)
            ok = True
        except exception.PinResolutionFailed as exc:
            if exc.unresolved:
                raise
            LOG.error('Pin resolution on %(reason)s failed; keeping the '
                      'last good pins (%(pins)s), still serving. Fix the '
                      'cause and send SIGHUP to retry. %(error)s',
                      {'reason': reason, 'error': exc,
                       'pins': self._describe_pins()})
            ok = False
        return ok

    def _config_mutated(self, conf, changed):
        self._reloaded = True

    def _record_pins(self, api=None, decision=None):
        """Keep every current decision on disk (the last good pins)."""
        self.pin_store.save(dict(self.apis.decisions()))

    def _describe_pins(self):
        return ', '.join('%s=%s' % (name, decision.cap if decision else None)
                         for name, decision in self.apis.decisions())

    def reset(self):
        """SIGHUP on the eventlet backend (configuration already mutated).

        oslo.service leaves SIGHUP at its default action, which ends the
        process, while it handles one; a second SIGHUP arriving during the
        reload is held instead, and the configuration is read again and
        the pins resolved once more before this returns.
        """
        with _HeldSighup() as held:
            self._reload()
            while held.take():
                LOG.info('SIGHUP received during the reload: reloading '
                         'again')
                try:
                    self.conf.mutate_config_files()
                except Exception:
                    LOG.exception('Could not read the configuration files '
                                  'again; keeping the current values')
                self._reload()

    def request_reload(self):
        """SIGHUP in a worker of the threading backend: reload in place.

        The worker reads the configuration files again and resolves every
        pin, as ``reset()`` does on eventlet, and keeps serving throughout:
        no new worker, no second connection to the broker. The reload runs
        in a thread of its own and this returns at once; a SIGHUP that
        arrives during a reload makes one more reload once it is done, so
        a file written meanwhile is read too.
        """
        if self._reload_wanted is None:
            self._reload_wanted = threading.Event()
        self._reload_wanted.set()
        if self._reloader is None:
            self._reloader = threading.Thread(
                target=self._reload_forever, name='nova-versioning-reload',
                daemon=True)
            self._reloader.start()

    def _reload_forever(self):
        while True:
            self._reload_wanted.wait()
            self._reload_wanted.clear()
            self.reload_in_place()

    def reload_in_place(self):
        """Read the configuration files again, then :meth:`_reload`.

        Never raises: the files are kept as last read when they cannot be
        read again (the error is logged), and the pins as last resolved.
        """
        try:
            self.conf.mutate_config_files()
        except Exception:
            LOG.exception('Could not read the configuration files again; '
                          'keeping the current values')
        self._reload()

    def _reload(self):
        LOG.info('Reloading: re-resolving every RPC version pin')
        objects.Service.clear_min_version_cache()
        try:
            self.resolve_pins('SIGHUP', fresh=True)
        except Exception:
            # Never let a reload take the service down.
            LOG.exception('Reload failed; still serving with the previous '
                          'pins')
        try:
            self._start_refresher()
        except Exception:
            LOG.exception('Reload could not restart the pin refresh timer')

    def _start_refresher(self):
        if self._refresher is not None:
            self._refresher.stop()
            self._refresher = None
        interval = self.options.get('versioning', 'auto_refresh_interval')
        if not interval:
            return
        self._refresher = loopingcall.FixedIntervalLoopingCall(
            self._refresh_pins)
        # Jitter: a fleet started together must not query together.
        self._refresher.start(interval=interval,
                              initial_delay=random.uniform(0, interval))

    def _refresh_pins(self):
        try:
            self.resolve_pins('timer')
        except Exception:
            LOG.exception('Automatic pin refresh failed; keeping the '
                          'current pins')

    def _load_record(self):
        """Read this service's record, if not known yet.

        A worker started while the database does not answer (a reload on
        the threading backend) serves all the same; its heartbeat reads
        the record once the database answers again.
        """
        if self.record is not None:
            return self.record
        try:
            self.record = objects.Service.get_by_host_and_binary(
                self._context(), self.host, self.binary)
        except Exception as exc:
            LOG.warning('Could not read the record of %(binary)s on '
                        '%(host)s: %(error)s; still serving, the heartbeat '
                        'tries again', {'binary': self.binary,
                                        'host': self.host, 'error': exc})
        return self.record

    def _report_state(self):
        record = self.record
        if record is None:
            record = self._load_record()
        if record is None:
            return
        try:
            # Wraps before the 32-bit column overflows.
            record.report_count = records.next_report_count(
                record.report_count)
            record.last_seen_up = timeutils.utcnow()
            record.save()
        except Exception as exc:
            # A heartbeat that cannot be written must not stop the service;
            # the record will look stale until the next one succeeds.
            LOG.warning('Heartbeat of %(binary)s on %(host)s failed: '
                        '%(error)s', {'binary': self.binary,
                                      'host': self.host, 'error': exc})
            record.obj_reset_changes(['report_count', 'last_seen_up'])

    def stop(self, graceful=False):
        for timer in (self._refresher, self._heartbeat):
            if timer is not None:
                timer.stop()
        if self._server is not None:
            try:
                self._server.stop()
                self._server.wait()
            except Exception:
                LOG.exception('Error stopping the RPC server')
        if (self._transport is not None and
                self._transport is not self._shared_transport):
            self._transport.cleanup()
        # Only this service's own use: another service of the process may
        # still send through its conductor.
        self._release_conductor()
        super().stop(graceful=graceful)


class _HeldSighup(object):
    """Within the block, a SIGHUP is recorded instead of acted upon.

    Signal handlers belong to the main thread of the process; from another
    thread nothing changes. On exit the handler found on entry is put back.
    """

    def __init__(self):
        self._received = False
        self._installed = False
        self._previous = None

    def _handler(self, signo, frame):
        self._received = True

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGHUP, self._handler)
        except ValueError:
            # Not the main thread (greenthreads of an eventlet process
            # are): there is nothing to hold here.
            return self
        self._installed = True
        return self

    def take(self):
        """True once for every run of SIGHUPs received so far."""
        received, self._received = self._received, False
        return received

    def __exit__(self, *exc_info):
        if self._installed:
            # None: a handler not set from Python; the default then.
            signal.signal(signal.SIGHUP, self._previous if self._previous
                          is not None else signal.SIG_DFL)
        return False


class SighupGuard(object):
    """Keep a storm of SIGHUPs from ending an eventlet-backend service.

    oslo.service's eventlet ServiceLauncher handles SIGHUP in a greenthread
    it spawns per signal: the handler resets every signal to its default
    action (for SIGHUP, the end of the process) and throws an exception
    into the main greenthread, which re-reads the configuration, calls
    ``reset()`` and installs the handlers again. A second SIGHUP within
    that cycle either lands on the default action, or, when it arrived
    before the reset, runs the handler again and throws its exception into
    the middle of the reload, outside anything that catches it. Either way
    the process dies.

    Applied to such a launcher, this guard:

    * holds SIGHUP from the moment it is applied (before the launcher
      installs its handlers) and while a reload is under way: a SIGHUP
      then is recorded, never acted upon, and SIGHUP never reverts to its
      default action;
    * lets only the first SIGHUP of a cycle start a reload; those that
      arrive during it are coalesced into one more reload, sent once the
      launcher's handlers are back;
    * blocks SIGHUP in the main thread while the launcher swaps its
      handlers, so that no signal finds the default action between two of
      its calls.

    What is left: SIGHUP blocked in the main thread can still be delivered
    to another native thread of the process during those few calls, where
    the launcher's default action would apply; the eventlet backend runs
    its threads as greenthreads of the main thread, so this needs a native
    thread started by other code. A SIGHUP before :meth:`apply` keeps the
    default action, as for any process.
    """

    def __init__(self, launcher):
        self.launcher = launcher
        self.handler = launcher.signal_handler
        self.reloading = True
        self.pending = False
        self._reload_service = launcher._reload_service
        self._handle_signal = launcher.handle_signal
        self._clear = self.handler.clear

    @classmethod
    def applies_to(cls, launcher):
        return all(hasattr(launcher, name) for name in
                   ('signal_handler', '_reload_service', 'handle_signal'))

    def apply(self):
        """Hold SIGHUP now; take over the launcher's SIGHUP cycle."""
        signal.signal(signal.SIGHUP, self._hold)
        self.launcher._reload_service = self._reload
        self.launcher.handle_signal = self._handlers_installed
        self.handler.clear = self._cleared
        return self

    def _hold(self, signo, frame):
        self.pending = True

    def _cleared(self):
        """The launcher's clear(): SIGHUP is held instead of defaulted."""
        with _BlockedSighup():
            self._clear()
            signal.signal(signal.SIGHUP, self._hold)

    def _reload(self, *args):
        if self.reloading:
            # A callback of a signal that came before the handlers were
            # reset: the reload under way, or the next one, covers it.
            self.pending = True
            return
        self.reloading = True
        self._reload_service(*args)

    def _handlers_installed(self):
        with _BlockedSighup():
            self._handle_signal()
            self.reloading = False
            again, self.pending = self.pending, False
        if again:
            LOG.info('SIGHUP received during the reload: reloading again')
            os.kill(os.getpid(), signal.SIGHUP)


class _BlockedSighup(object):
    """SIGHUP blocked in this thread within the block, then delivered."""

    def __enter__(self):
        self._previous = signal.pthread_sigmask(signal.SIG_BLOCK,
                                                {signal.SIGHUP})
        return self

    def __exit__(self, *exc_info):
        signal.pthread_sigmask(signal.SIG_SETMASK, self._previous)
        return False
