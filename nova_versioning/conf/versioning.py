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
"""[versioning]: how this library records and reads service versions."""

from oslo_config import cfg

from nova_versioning.conf import groups

versioning_group = cfg.OptGroup(
    'versioning',
    title='Service version options',
    help='How the service records its own version and reads the minimum '
         'version of the services it talks to.')

# Upper bounds of the durations: larger values overflow date arithmetic
# and timers, and none makes sense.
ONE_HOUR = 3600
ONE_DAY = 86400
TEN_YEARS = 10 * 365 * ONE_DAY

versioning_opts = [
    cfg.IntOpt('minimum_version_cache_ttl',
               default=30,
               min=0,
               max=ONE_DAY,
               mutable=True,
               help='Seconds a minimum service version read from the '
                    'database stays cached in this process. Concurrent '
                    'callers share one query while it is being read. A '
                    'service heartbeat never reads the minimum. 0 disables '
                    'the cache (every lookup queries the database).'),
    cfg.IntOpt('stale_service_timeout',
               default=0,
               min=0,
               max=TEN_YEARS,
               mutable=True,
               help='Seconds after which a service record without a '
                    'heartbeat (its last_seen_up, else its updated_at, '
                    'else its created_at) stops counting toward the '
                    'minimum service version of its binary: it no longer '
                    'holds an "auto" pin down, no longer makes a control '
                    'service refuse to start, and a host that comes back '
                    'older than the other services of its kind is refused '
                    'as if its record were not there. Set it well above '
                    '[DEFAULT]/report_interval on the services that read '
                    'minimum versions (the conductors). 0 (the default) '
                    'turns the policy off: every live record that is not '
                    'forced down counts, however old its heartbeat; '
                    'nova-versioning-status still reports the records '
                    'that look stale.'),
    cfg.IntOpt('minimum_version_lookup_timeout',
               default=10,
               min=1,
               max=ONE_HOUR,
               mutable=True,
               help='Seconds a service without database access (a compute) '
                    'waits for a conductor to answer one minimum service '
                    'version lookup while resolving its "auto" pins, at '
                    'startup, on SIGHUP and on the refresh timer. When no '
                    'conductor answers in time the service keeps its last '
                    'good pins, logs the error and goes on serving. Other '
                    'calls through the conductor wait '
                    '[DEFAULT]/rpc_response_timeout.'),
    cfg.StrOpt('history_provider',
               default='default',
               help='Name of the nova_versioning.history entry point that '
                    'supplies the service version history (service '
                    'version, RPC versions per service version, release '
                    'aliases and the oldest supported release). The '
                    'default is the history of the sample services shipped '
                    'with this library; a deployment plugs in its own.'),
    cfg.IntOpt('auto_refresh_interval',
               default=0,
               min=0,
               max=ONE_DAY,
               mutable=True,
               help='Seconds between two automatic re-resolutions of every '
                    'RPC version pin of a running service, so that pins '
                    'lift after the last old service is upgraded without a '
                    'SIGHUP. Each service waits a random part of the '
                    'interval first, so a fleet does not query at once; '
                    'lookups share the minimum version cache. 0 (the '
                    'default) resolves pins only at startup and on SIGHUP.'),
    cfg.IntOpt('database_operation_timeout',
               default=30,
               min=1,
               max=3600,
               help='Seconds any one database operation of a service or '
                    'of an operator command may take: connecting, and each '
                    'read or write on the connection (PyMySQL '
                    'connect_timeout, read_timeout and write_timeout; '
                    'PostgreSQL connect_timeout, statement_timeout, TCP '
                    'keepalives and tcp_user_timeout; the SQLite busy '
                    'timeout). A database that accepts connections but '
                    'never answers then fails the operation instead of '
                    'hanging: at startup a service exits with one line, on '
                    'a reload it keeps its last good pins, and '
                    'nova-versioning-status and nova-versioning-manage end '
                    'with one line. nova-versioning-manage db sync reads '
                    'the schema\'s state within it, then bounds only '
                    'connecting (and, on PostgreSQL, a server gone away) '
                    'while it migrates, since a migration may rightly take '
                    'longer than any query. A value given in '
                    '[database]/connection_parameters takes precedence. '
                    'Read when a connection is opened.'),
    cfg.IntOpt('broker_connect_timeout',
               default=60,
               min=1,
               max=3600,
               help='Seconds a service waits at startup for the message '
                    'broker of [DEFAULT]/transport_url (RabbitMQ) to accept '
                    'its connection and credentials, before it registers '
                    'its record. A broker that is down, refuses the '
                    'credentials or never answers ends the start with one '
                    'line and nothing written. Once running, the service '
                    'reconnects as oslo.messaging does.'),
    cfg.IntOpt('object_backport_timeout',
               default=30,
               min=1,
               max=ONE_HOUR,
               mutable=True,
               help='Seconds a service waits for a conductor to backport a '
                    'versioned object it received at a version newer than '
                    'its release knows (object_backport_versions). When no '
                    'conductor answers in time, the message carrying the '
                    'object fails with an error naming the object, its '
                    'version and the version this release knows.'),
    cfg.BoolOpt('disable_object_compat',
                default=False,
                help='Testing aid: send versioned objects at the versions '
                     'of this release, whatever the receivers run, and '
                     'never ask a conductor to backport an object this '
                     'release cannot read: what a service without object '
                     'version compatibility does. The rolling-upgrade '
                     'job\'s "--break objects" variant sets it. Never set '
                     'this in production.'),
    cfg.StrOpt('emulated_release',
               help='Testing aid: make this process record, and behave as, '
                    'an older release. Accepts a release name from the '
                    'version history (for example "pike") or a service '
                    'version number. Never set this in production.'),
]


def register_opts(conf):
    groups.register(conf, versioning_group, versioning_opts)


def list_opts():
    return {versioning_group: versioning_opts}
