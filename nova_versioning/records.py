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
"""The one rule for reading rows of the services table.

The services write their own rows, but a table can hold rows written by
hand, by other tools or by older code: a NULL or non-positive version, a
NULL ``forced_down``, a NULL host, an odd binary name. Every reader (the
minimum-version queries of :mod:`nova_versioning.db.api`, the guards, and
the operator commands through :mod:`nova_versioning.pinreport`) reads such
rows by the rules below, so they all agree:

* **Unknown version.** A version that is NULL, 0 or negative is unknown.
  A live, counted row with an unknown version counts as
  :data:`LOWEST_VERSION`, the oldest version a service can record: it
  holds every ``auto`` pin of its binary down as far as it goes (it never
  lifts one), the guards treat it as that old, and the operator commands
  name it.
* **forced_down NULL** means not forced down: the row counts.
* **Binaries** are compared exactly, byte for byte, on every database
  (MariaDB's default collation would otherwise match ``NOVA-COMPUTE``,
  ``nova-compute `` and ``nova-cömpute`` to ``nova-compute``). A row whose
  binary is not a valid ``nova-<name>`` belongs to no binary the services
  ask about, and is reported.
* **Text printed or logged** from a row (host names above all) goes
  through :func:`printable`, so a control character cannot forge a log
  line.
"""

import datetime

# An unknown version (NULL, 0 or negative) counts as this one.
LOWEST_VERSION = 1

# report_count is a 32-bit signed column on MariaDB and PostgreSQL.
REPORT_COUNT_MAX = 2 ** 31 - 1

# What a MariaDB zero date ('0000-00-00 00:00:00') reads as: older than
# any heartbeat, as the database compares it.
ZERO_DATE = datetime.datetime.min


def version_known(version):
    """True for a version a service could have recorded (1 or more)."""
    return (isinstance(version, int) and not isinstance(version, bool)
            and version >= LOWEST_VERSION)


def effective_version(version):
    """The version a row counts as: unknown versions count as the lowest."""
    return version if version_known(version) else LOWEST_VERSION


def forced_down(value):
    """NULL (None) is not forced down."""
    return bool(value)


def next_report_count(count):
    """The heartbeat counter after ``count``, wrapping before overflow."""
    if not isinstance(count, int) or count < 0 or count >= REPORT_COUNT_MAX:
        return 1
    return count + 1


def printable(value):
    """``value`` as text with control characters escaped.

    ``'a\\nb'`` becomes ``'a\\\\nb'`` (a backslash and an n); None is
    ``'None'``. Printable text, non-ASCII letters included, is unchanged.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        return text
    return ''.join(c if c.isprintable() else
                   c.encode('unicode_escape').decode('ascii')
                   for c in text)
