"""Superset configuration for production (docker-compose); `regiowerk bi up` writes its own local one."""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_METADATA_URL"]
BABEL_DEFAULT_LOCALE = "nl"
LANGUAGES = {"nl": {"flag": "nl", "name": "Nederlands"}, "en": {"flag": "us", "name": "English"}}
WTF_CSRF_ENABLED = True
SUPERSET_WEBSERVER_TIMEOUT = 120
