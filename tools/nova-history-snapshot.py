#!/usr/bin/env python3
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
"""Write the bundled snapshot of Nova's version history.

Run with a Python that has the Nova release to record installed, for
example in the nova-interop tox env::

    tox -e nova-interop --notest  # once, to build the env
    .tox/nova-interop/bin/python tools/nova-history-snapshot.py

It imports Nova's own modules (in this process only) and writes
nova_versioning/histories/nova_snapshot.json: the four tables the ``nova``
history provider reads, and the Nova version they came from. With
``--check`` it writes nothing and exits 1 when the file differs.
"""

import argparse
import json
import os
import sys

from nova_versioning.histories import nova_tables

TARGET = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..',
                      'nova_versioning', 'histories', 'nova_snapshot.json')


def snapshot():
    return nova_tables.imported()


def render(data):
    return json.dumps(data, indent=1) + '\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--output', default=TARGET)
    parser.add_argument('--check', action='store_true',
                        help='Exit 1 when the file differs; write nothing.')
    args = parser.parse_args()
    text = render(snapshot())
    if args.check:
        with open(args.output, encoding='utf-8') as current:
            if current.read() != text:
                print('%s differs from the installed Nova %s'
                      % (args.output, json.loads(text)['nova_version']))
                return 1
        return 0
    with open(args.output, 'w', encoding='utf-8') as out:
        out.write(text)
    print('wrote %s (Nova %s)' % (os.path.normpath(args.output),
                                  json.loads(text)['nova_version']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
