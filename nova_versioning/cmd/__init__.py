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
"""Console scripts, and the entry points that start them.

Importing this package, or any console-script entry point, does nothing
but define functions. Each entry point (:func:`run_script`):

1. parses its command line with :mod:`nova_versioning.cmd.parsers`, which
   needs oslo.config and oslo.log only: ``--help``, a wrong argument and a
   missing configuration file end there, before any database, messaging
   or eventlet code is imported;
2. chooses oslo.service's backend (:func:`select_backend`), which has to
   happen before anything imports ``oslo_service.service`` (importing
   oslo.messaging does);
3. imports its command module and runs the command (``run_parsed()``).

The backend:

* threading by default; ``eventlet`` is never imported then (see
  :func:`select_backend`), so it prints no deprecation warning;
* eventlet when ``NOVA_VERSIONING_SERVICE_BACKEND=eventlet``: the process
  is monkey-patched first, as every eventlet-based oslo service is.
"""

import os
import sys

BACKEND_ENV = 'NOVA_VERSIONING_SERVICE_BACKEND'
BACKENDS = ('threading', 'eventlet')


def backend_name(environ=None):
    """The backend NOVA_VERSIONING_SERVICE_BACKEND asks for.

    :raises SystemExit: one line naming the variable, its value and the
        allowed values, exit code 1 (an operator error).
    """
    environ = os.environ if environ is None else environ
    name = environ.get(BACKEND_ENV, '').strip().lower() or 'threading'
    if name not in BACKENDS:
        prog = os.path.basename(sys.argv[0])
        sys.stderr.write('%s: error: %s=%r is not valid: expected '
                         'threading or eventlet\n' % (prog, BACKEND_ENV, name))
        raise SystemExit(1)
    return name


def select_backend(name=None):
    """Choose oslo.service's backend for this process.

    Call before anything imports oslo.messaging or oslo_service.service.
    Choosing the backend already chosen is a no-op.

    :param name: 'threading' or 'eventlet'; default from the environment.
    """
    from oslo_service import backend

    name = name or backend_name()
    if name == 'eventlet':
        # Green threads everywhere, or real threads and the eventlet hub
        # deadlock on shared locks (logging's among them).
        import eventlet
        eventlet.monkey_patch()
    elif 'eventlet' not in sys.modules:
        # Libraries under oslo.messaging (futurist, oslo.utils) import
        # eventlet whenever it is installed, only to learn whether it is
        # there; importing it prints its deprecation warning. On the
        # threading backend nothing uses it: tell them it is absent.
        sys.modules['eventlet'] = None
    types = {'threading': backend.BackendType.THREADING,
             'eventlet': backend.BackendType.EVENTLET}
    backend.init_backend(types[name])
    return name


def run_script(module, argv=None):
    """Run the console script of ``nova_versioning.cmd.<module>``."""
    import importlib

    from nova_versioning.cmd import parsers

    try:
        parsers.parse_script(module, argv)
        select_backend()
        code = importlib.import_module(
            'nova_versioning.cmd.' + module).run_parsed()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader went away (``pins | head``): stop quietly, as a
        # command-line tool does, and keep the interpreter from failing
        # again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


_run = run_script


def manage_main(argv=None):
    """nova-versioning-manage."""
    return _run('manage', argv)


def status_main(argv=None):
    """nova-versioning-status."""
    return _run('status', argv)


def grenade_main(argv=None):
    """nova-versioning-grenade."""
    return _run('grenade', argv)


def conductor_main(argv=None):
    """nova-versioning-conductor."""
    return _run('conductor', argv)


def compute_main(argv=None):
    """nova-versioning-compute."""
    return _run('compute', argv)
