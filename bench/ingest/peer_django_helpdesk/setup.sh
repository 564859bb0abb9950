#!/usr/bin/env sh
# Build the peer's own virtualenv, apart from ours, so its dependencies
# (Django, nh3, ...) never mix with the product's and a run measures
# django-helpdesk exactly as PyPI ships it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${PEER_VENV:-$here/../../.peer-venv}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# 2.6.1 requires django>=5.2; stay on the 5.2 LTS line it was released against.
"$venv/bin/python" -m pip install --quiet "django-helpdesk==2.6.1" "Django>=5.2,<5.3"
"$venv/bin/python" -c "import django, helpdesk; print('peer venv ready: Django', django.get_version())"
