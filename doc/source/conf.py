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
"""Sphinx configuration of the nova_versioning documentation."""

project = 'nova_versioning'
copyright = 'nova_versioning developers'
author = 'nova_versioning developers'

extensions = [
    # The configuration reference, from the oslo.config.opts entry points.
    'oslo_config.sphinxext',
    # The benchmark results, kept as Markdown in doc/bench/results.md.
    'myst_parser',
]

source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
master_doc = 'index'
exclude_patterns = ['_build']

# The results' tables are GitHub-flavoured.
myst_enable_extensions = []
suppress_warnings = ['myst.xref_missing']
pygments_style = 'sphinx'

html_theme = 'alabaster'
html_static_path = []
