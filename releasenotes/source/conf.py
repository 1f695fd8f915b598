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

# Sphinx configuration for the release notes (tox -e releasenotes-build).

extensions = [
    'reno.sphinxext',
]

source_suffix = '.rst'
master_doc = 'index'

project = 'nova_versioning Release Notes'
copyright = '2026, nova_versioning developers'
author = 'nova_versioning developers'

# Release notes are not versioned by the package version.
version = ''
release = ''

exclude_patterns = []
pygments_style = 'sphinx'

html_theme = 'alabaster'
html_static_path = []
htmlhelp_basename = 'NovaVersioningReleaseNotesdoc'

# Translations, as in other OpenStack projects.
locale_dirs = ['locale/']
