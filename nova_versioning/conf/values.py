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
"""One line about an option value that oslo.config cannot read.

oslo.config checks a value from a configuration file only when it is read,
and reports a bad one in a message quoting its internal location record.
:func:`invalid_option` names the option, the value as written, where it
was written and the forms the option accepts instead; the console scripts
(at startup) and a running service (after a reload) both report with it.
"""

import glob
import hashlib
import os

from oslo_config import cfg
from oslo_config import types

from nova_versioning import exception


def allowed_forms(opt_type):
    """What a value of ``opt_type`` may look like, for an operator."""
    if isinstance(opt_type, types.Boolean):
        return 'true or false'
    choices = getattr(opt_type, 'choices', None)
    if choices:
        return 'one of %s' % ', '.join(repr(c) for c in choices)
    if isinstance(opt_type, types.Number):
        kind = ('an integer' if isinstance(opt_type, types.Integer)
                else 'a number')
        low, high = opt_type.min, opt_type.max
        if low is not None and high is not None:
            return '%s from %s to %s' % (kind, low, high)
        if low is not None:
            return '%s of at least %s' % (kind, low)
        if high is not None:
            return '%s of at most %s' % (kind, high)
        return kind
    if isinstance(opt_type, types.HostAddress):
        return 'a host name or an IP address'
    if isinstance(opt_type, types.IPAddress):
        return 'an IP address'
    if isinstance(opt_type, types.URI):
        return 'a URI'
    if isinstance(opt_type, types.Dict):
        return 'key:value pairs separated by commas'
    if isinstance(opt_type, types.List):
        return 'a comma-separated list'
    return 'a %s' % getattr(opt_type, 'type_name', 'valid value')


def config_files(conf):
    """The files ``conf`` reads, in order (--config-file, --config-dir)."""
    files = []
    for attr in ('config_file', 'config_dir'):
        try:
            values = conf[attr] or []
        except cfg.NoSuchOptError:
            continue
        if isinstance(values, str):
            values = [values]
        for value in values:
            if attr == 'config_dir':
                files.extend(sorted(glob.glob(os.path.join(value,
                                                           '*.conf'))))
            else:
                files.append(value)
    return files


def raw_value(conf, group, name):
    """(value as written, where) of [group]/name; (None, None) if unknown.

    :param group: the group name; None or 'DEFAULT' for the default group.
    """
    group = group or 'DEFAULT'
    env = 'OS_%s__%s' % (group.upper(), name.upper())
    if env in os.environ:
        return os.environ[env], 'environment variable %s' % env
    found = (None, None)
    for path in config_files(conf):
        sections = _parsed(path)
        if sections is None:
            continue
        values = sections.get(group, {}).get(name)
        if values:
            found = (values[-1], path)
    return found


def check_read(conf, group, opt, value):
    """InvalidOption for a value oslo.config read but no code can use.

    * an empty value, which oslo.config reads as None, for an option whose
      default is not None (the code reads a number or a flag);
    * a NUL character, which no file name, URL or name may hold.

    :returns: the InvalidOption, or None.
    """
    raw, _where = raw_value(conf, group, opt.name)
    if raw is None:
        return None
    if value is None and opt.default is not None:
        return invalid_option(conf, group, opt)
    if '\x00' in raw:
        return invalid_option(conf, group, opt)
    # A command-line option's file value passes through argparse, which
    # reads some values it should refuse (an empty or a numeric boolean)
    # as the default: give it to the option's type.
    try:
        read = opt.type(raw)
    except (ValueError, TypeError):
        return invalid_option(conf, group, opt)
    if read is None and opt.default is not None:
        return invalid_option(conf, group, opt)
    return None


def check_unregistered(conf, group, opt):
    """InvalidOption when the value written for ``opt`` is of a wrong type.

    For an option not registered (yet) on ``conf``, which oslo.config has
    not read: the value as written is given to the option's type.

    :returns: the InvalidOption, or None when the value is fine or unset.
    """
    value, _where = raw_value(conf, group, opt.name)
    if value is None:
        return None
    if '\x00' in value:
        return invalid_option(conf, group, opt)
    try:
        read = opt.type(value)
    except (ValueError, TypeError):
        return invalid_option(conf, group, opt)
    if read is None and opt.default is not None:
        return invalid_option(conf, group, opt)
    return None


def _parsed(path):
    """The sections of a configuration file, or None if unreadable.

    Kept while the file's content is unchanged: the startup check reads
    the value of every option of a library not registered yet.
    """
    try:
        with open(path, 'rb') as f:
            content = f.read()
    except OSError:
        return None
    key = (path, hashlib.sha256(content).hexdigest())
    if _PARSED.get('key') != key:
        sections = {}
        try:
            cfg.ConfigParser(path, sections).parse()
        except Exception:
            sections = None
        _PARSED.clear()
        _PARSED.update(key=key, sections=sections)
    return _PARSED['sections']


def parsed(path):
    """{section: {key: [values]}} of a configuration file, as written.

    None when it cannot be read or parsed.
    """
    return _parsed(path)


# The last file parsed by _parsed().
_PARSED = {}


def invalid_option(conf, group, opt, exc=None):
    """InvalidOption naming [group]/opt, its value, where, and its forms.

    :param group: the group name; None or 'DEFAULT' for the default group.
    :param exc: the error oslo.config raised on reading it, quoted when
        the value was not found in a file or the environment.
    """
    value, where = raw_value(conf, group, opt.name)
    if value is None and exc is not None:
        value = str(exc)
    return exception.InvalidOption(
        group=group or 'DEFAULT', name=opt.name, value=value,
        where=' in %s' % where if where else '',
        allowed=allowed_forms(opt.type))
