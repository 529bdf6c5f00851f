"""Extension objects, created once here and bound to an app in ``create_app`` via ``init_app``."""

from __future__ import annotations

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from app.database import Database

db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
