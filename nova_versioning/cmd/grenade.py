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
"""nova-versioning-grenade: a rolling upgrade under load, end to end.

    nova-versioning-grenade [--mode embedded|real|nova] [--db-kind KIND]
        [--db-url URL] [--broker-url URL] [--backend NAME]
        [--computes N] [--stage-seconds S] [--report FILE]
        [--break unpinned|objects|overpinned] [--workdir DIR]

embedded (the default) needs no server: the services run in this process
on a SQLite file and an in-process transport. real starts real service
processes on RabbitMQ and a database (a fresh MariaDB or PostgreSQL
database provisioned as openstack_citest, or --db-url). nova runs real
Nova, two releases, on MariaDB and RabbitMQ (nova_versioning.grenade.
novajob; doc/source/admin/nova-grenade.rst).

Prints a table of the stages and writes a JSON report, also when a stage
raises (the report then names the stage and the error). Exits 0 when no
message was rejected or lost and every pin, log line and refusal was as
expected, 1 otherwise (or when the report, its timeline, its log or the
work directory cannot be written: one line, before anything runs), 2 on a
usage error or when the fleet could not be set up. In real mode a failed
run keeps its temporary work directory (the service logs and
configuration files) and prints its path; a passing run removes it.
"""

import errno
import json
import os
import shutil
import sys
import tempfile

from oslo_log import log as logging

from nova_versioning.cmd import cli
from nova_versioning.cmd import common
from nova_versioning.cmd import parsers
from nova_versioning import conf as nv_conf
from nova_versioning.db import migration
from nova_versioning import exception
from nova_versioning.grenade import fleet as nv_fleet
from nova_versioning.grenade import novajob
from nova_versioning.grenade import process
from nova_versioning.grenade import scenario
from nova_versioning.grenade import svg
from nova_versioning import history as nv_history
from nova_versioning import objects
from nova_versioning import rpc

CONF = nv_conf.CONF
LOG = logging.getLogger(__name__)
PROG = 'nova-versioning-grenade'

cli_opts = parsers.grenade_cli_opts


def _upgrade_levels():
    if CONF['break'] == 'unpinned':
        return {}
    return {name: 'auto' for name in ('compute', 'conductor', 'scheduler')}


def _service_config():
    """Options every service of the run gets."""
    if CONF['break'] == 'objects':
        return {'versioning': {'disable_object_compat': True}}
    return {}


def _runner_conf(levels):
    def make(release):
        overrides = {('versioning', 'emulated_release'): release}
        for section, values in _service_config().items():
            for name, value in values.items():
                overrides[(section, name)] = value
        for name, value in levels.items():
            overrides[('upgrade_levels', name)] = value
        return nv_fleet.private_conf(overrides)
    return make


def _provision(kind, cleanups):
    from oslo_db.sqlalchemy import provision
    from oslo_utils import uuidutils
    backend = provision.Backend.backend_for_database_type(kind)
    ident = 'nv_grenade_' + uuidutils.generate_uuid(dashed=False)[:12]
    backend.create_named_database(ident)
    cleanups.append(lambda: backend.drop_named_database(ident,
                                                        conditional=True))
    return backend.provisioned_database_url(ident).render_as_string(
        hide_password=False)


def _setup(workdir, cleanups):
    levels = _upgrade_levels()
    if CONF.mode == 'embedded':
        db_url = 'sqlite:///%s' % os.path.join(workdir, 'grenade.sqlite')
    elif CONF.db_url:
        db_url = CONF.db_url
    elif CONF.db_kind == 'sqlite':
        db_url = 'sqlite:///%s' % os.path.join(workdir, 'grenade.sqlite')
    else:
        db_url = _provision(CONF.db_kind, cleanups)
    CONF.set_override('connection', db_url, group='database')
    CONF.set_override('max_retries', 0, group='database')
    CONF.set_override('state_path', workdir)
    migration.db_sync()
    if CONF.mode == 'embedded':
        transport = rpc.get_transport(CONF, url='fake://')
        cleanups.append(transport.cleanup)
        fleet = nv_fleet.InProcessFleet(workdir, transport, levels)
    else:
        url, drop = process.rabbit_vhost(
            CONF.broker_url, os.path.basename(workdir.rstrip('/')))
        if drop is not None:
            cleanups.append(drop)
        transport = rpc.get_transport(CONF, url=url)
        cleanups.append(transport.cleanup)
        fleet = nv_fleet.ProcessFleet(workdir, db_url, url, transport,
                                      levels, backend=CONF.backend)
    fleet.service_config = _service_config()
    cleanups.append(fleet.close)
    return fleet, levels


def _setup_failed(exc):
    LOG.exception('Setting up the fleet failed')
    message = common.describe_error(exc)
    if message is None:
        lines = str(exc).strip().splitlines() or ['']
        message = '%s: %s' % (type(exc).__name__, lines[0])
    sys.stderr.write('%s: error: %s\n' % (PROG, message))
    return {'ok': False, 'stages': [], 'releases': None,
            'error': {'stage': 0, 'name': 'setup', 'error': message}}


def _dispose_workdir(workdir, ok):
    """Remove a temporary workdir, unless a real-mode run failed.

    :returns: the path when the directory is kept, else None.
    """
    if CONF.workdir:
        return workdir
    if CONF.mode == 'real' and not ok:
        return workdir
    shutil.rmtree(workdir, ignore_errors=True)
    return None


def run():
    if CONF.mode == 'nova':
        if CONF['break'] == 'objects':
            sys.stderr.write('%s: error: --break objects needs --mode '
                             'embedded or real, not nova\n' % PROG)
            return 2
        return novajob.main(CONF)
    if CONF['break'] == 'overpinned':
        sys.stderr.write('%s: error: --break overpinned needs --mode nova, '
                         'not %s\n' % (PROG, CONF.mode))
        return 2
    objects.register_all()
    workdir = CONF.workdir or tempfile.mkdtemp(prefix='nv-grenade-')
    os.makedirs(workdir, exist_ok=True)
    cleanups = []
    code = 1
    try:
        try:
            fleet, levels = _setup(workdir, cleanups)
            history = nv_history.get_history(CONF)
        except Exception as exc:
            report = _setup_failed(exc)
            code = 2
        else:
            report = scenario.Scenario(
                fleet, history, _runner_conf(levels),
                computes=CONF.computes,
                stage_seconds=CONF.stage_seconds).run()
    finally:
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as exc:
                sys.stderr.write('%s: cleanup failed: %s\n' % (PROG, exc))
    report['mode'] = CONF.mode
    report['break'] = CONF['break']
    report['workdir'] = _dispose_workdir(workdir, report['ok'])
    report['log_file'] = _log_file()
    report['timeline'] = svg.path_for(CONF.report)
    with open(CONF.report, 'w') as f:
        json.dump(report, f, indent=2, sort_keys=True)
    svg.write(report, report['timeline'])
    print(scenario.format_table(report))
    print('Report written to %s, timeline to %s'
          % (CONF.report, report['timeline']))
    if report['log_file']:
        print('Logs in %s' % report['log_file'])
    if report['workdir']:
        print('Service logs and configuration kept in %s'
              % report['workdir'])
    return 0 if report['ok'] else code


def _make_dir(directory):
    if os.path.lexists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR),
                                 directory)
    os.makedirs(directory, exist_ok=True)


def _check_file(path):
    """Raise OSError unless path can be written; create its directory.

    A file the check creates is removed again.
    """
    _make_dir(os.path.dirname(os.path.abspath(path)))
    existed = os.path.lexists(path)
    with open(path, 'a'):
        pass
    if not existed:
        os.remove(path)


def _check_dir(path):
    """Raise OSError unless files can be made in path; create it."""
    _make_dir(path)
    with tempfile.TemporaryFile(dir=path):
        pass


def _check_paths():
    """One line and exit code 1 when an output path cannot be written.

    Checked before the run, which would otherwise take minutes and then
    fail to write what it found: the report, its timeline, the log
    written next to them, and the work directory.
    """
    report = CONF.report
    checks = [('--report', report, 'it', report, _check_file),
              ('--report', report, 'its timeline', svg.path_for(report),
               _check_file)]
    if not (CONF.log_config_append or CONF.log_file or CONF.log_dir):
        checks.append(('--report', report, 'its log',
                       os.path.splitext(report)[0] + '.log', _check_file))
    if CONF.workdir:
        checks.append(('--workdir', CONF.workdir, 'in it', CONF.workdir,
                       _check_dir))
    for option, value, what, path, check in checks:
        try:
            check(path)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if exc.filename and exc.filename != path:
                reason = '%s: %s' % (reason, exc.filename)
            if path != value:
                what = '%s %s' % (what, path)
            common.fail(PROG, 'Invalid value %s for option %s: cannot '
                        'write %s (%s)' % (exception.shown(value), option,
                                           what, reason),
                        code=cli.EXIT_ERROR)


def _log_file():
    """Where this run logs, or None when it logs to a terminal."""
    if CONF.log_config_append:
        return None
    if CONF.log_file:
        return os.path.join(CONF.log_dir or '', CONF.log_file)
    return None


def _log_to_file():
    """Log to a file next to the report unless logging is configured.

    The services of an embedded run log in this process: on a terminal
    their lines would bury the stage table.
    """
    if CONF.log_config_append or CONF.log_file or CONF.log_dir:
        return
    CONF.set_default('log_file', os.path.abspath(
        os.path.splitext(CONF.report)[0] + '.log'))
    CONF.set_default('use_stderr', False)
    logging.setup(CONF, 'nova_versioning')


def main(argv=None):
    parsers.parse_script('grenade', argv)
    return run_parsed()


def run_parsed():
    """The job, once its command line is parsed (parsers)."""
    # The exchange of the services it starts.
    rpc.set_defaults()
    common.setup(PROG)
    _check_paths()
    _log_to_file()
    return common.run(PROG, run)


if __name__ == '__main__':
    sys.exit(main())
