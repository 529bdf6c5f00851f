"""The changes a bulk operation can apply: session persistence, expiry, concurrency, proxy.

Every field defaults to "keep"; :meth:`BulkForm.wanted` returns only what should change, in
the same shape the inline editors produce, so one update service saves both.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from app.cloudcruise import fields as catalogue
from app.entries.forms import PROXY_CHOICES, choices, chosen_value, label
from app.services import entry_rules as rules
from app.services.entry_rules import RuleError

FLAG = choices([("keep", "Keep as is"), ("on", "Turn on"), ("off", "Turn off")])
KINDS = {
    "persistence": ("Session persistence", "session"),
    "expiry": ("Session expiry", "session"),
    "concurrency": ("Concurrency", "concurrency"),
    "proxy": ("Proxy", "proxy"),
}


class BulkForm(FlaskForm):
    class Meta:
        csrf = False  # the page-level CSRFProtect checks every POST already

    #: on/off fields of this kind
    FLAGS: tuple[str, ...] = ()

    def wanted(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.FLAGS:
            value = getattr(self, name).data
            if value in ("on", "off"):
                out[name] = value == "on"
        return out

    def describe(self) -> list[str]:
        """Human summary of the change, e.g. ``Persist cookies → Yes``."""
        return [f"{label(k)} → {show(k, v)}" for k, v in self.wanted().items()]


def show(name: str, value: Any) -> str:
    """A new value as the preview shows it (a removal reads as the field's empty text)."""
    return catalogue.format_value(name, value)


class PersistenceForm(BulkForm):
    FLAGS = (
        "persist_cookies",
        "persist_local_storage",
        "persist_session_storage",
        "skip_csrf_cookies",
    )
    persist_cookies = SelectField(label("persist_cookies"), choices=FLAG, default="keep")
    persist_local_storage = SelectField(
        label("persist_local_storage"), choices=FLAG, default="keep"
    )
    persist_session_storage = SelectField(
        label("persist_session_storage"), choices=FLAG, default="keep"
    )
    skip_csrf_cookies = SelectField(label("skip_csrf_cookies"), choices=FLAG, default="keep")


EXPIRY_ACTIONS = choices([("keep", "Keep as is"), ("set", "Set to"), ("none", "No expiry")])


class ExpiryForm(BulkForm):
    INTERVALS = ("expiry_time_from_last_use", "expiry_time_from_session_data_set")
    expiry_time_from_last_use_action = SelectField(
        label("expiry_time_from_last_use"), choices=EXPIRY_ACTIONS, default="keep"
    )
    expiry_time_from_last_use = StringField("Interval")
    expiry_time_from_session_data_set_action = SelectField(
        label("expiry_time_from_session_data_set"), choices=EXPIRY_ACTIONS, default="keep"
    )
    expiry_time_from_session_data_set = StringField("Interval")

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for name in self.INTERVALS:
            field = getattr(self, name)
            field.clean = None
            if getattr(self, f"{name}_action").data == "set":
                missing = "Enter the interval, or choose “No expiry”."
                ok = chosen_value(field, rules.interval, missing) and ok
        return ok

    def wanted(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.INTERVALS:
            action = getattr(self, f"{name}_action").data
            if action == "set":
                out[name] = getattr(self, name).clean
            elif action == "none":
                out[name] = None
        return out


LIMIT_ACTIONS = choices([("keep", "Keep as is"), ("set", "Set to"), ("unlimited", "Unlimited")])


class ConcurrencyForm(BulkForm):
    FLAGS = ("allow_multiple_sessions", "prevent_concurrency_during_login")
    allow_multiple_sessions = SelectField(
        label("allow_multiple_sessions"), choices=FLAG, default="keep"
    )
    max_concurrency_action = SelectField(
        label("max_concurrency"), choices=LIMIT_ACTIONS, default="keep"
    )
    max_concurrency = StringField("Limit")
    prevent_concurrency_during_login = SelectField(
        label("prevent_concurrency_during_login"), choices=FLAG, default="keep"
    )

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        self.max_concurrency.clean = None
        if self.max_concurrency_action.data == "set":
            missing = "Enter a limit, or choose “Unlimited”."
            if not chosen_value(self.max_concurrency, rules.max_concurrency, missing):
                return False
        if (
            self.max_concurrency_action.data != "keep"
            and self.allow_multiple_sessions.data == "off"
        ):
            self.max_concurrency.errors = ["A limit needs multiple sessions to be allowed."]
            return False
        return ok

    def wanted(self) -> dict[str, Any]:
        out = super().wanted()
        if self.max_concurrency_action.data == "set":
            out["max_concurrency"] = self.max_concurrency.clean
        elif self.max_concurrency_action.data == "unlimited":
            out["max_concurrency"] = None
        return out


class ProxyForm(BulkForm):
    # managed modes first: the most common bulk change
    proxy_setting = SelectField(
        label("proxy_setting"),
        choices=choices([*PROXY_CHOICES[1:], PROXY_CHOICES[0]]),
        default="random",
    )
    proxy_value = StringField(label("proxy_value"))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        mode = None if self.proxy_setting.data == "none" else self.proxy_setting.data
        try:
            self.proxy_value.clean = rules.proxy_value(mode, self.proxy_value.data)
        except RuleError as exc:
            self.proxy_value.clean = None
            self.proxy_value.errors = [str(exc)]
            return False
        return ok

    def wanted(self) -> dict[str, Any]:
        mode = None if self.proxy_setting.data == "none" else self.proxy_setting.data
        return {"proxy_setting": mode, "proxy_value": self.proxy_value.clean}

    def describe(self) -> list[str]:
        mode = self.proxy_setting.data
        if mode == "custom":
            return [
                f"{label('proxy_setting')} → {show('proxy_setting', 'custom')}",
                f"{label('proxy_value')} → (the URL you entered, encrypted)",
            ]
        return super().describe()


FORMS: dict[str, type[BulkForm]] = {
    "persistence": PersistenceForm,
    "expiry": ExpiryForm,
    "concurrency": ConcurrencyForm,
    "proxy": ProxyForm,
}
#: Entry fields each kind shows in the preview's "current → new" columns.
SHOWN = {
    "persistence": (
        "persist_cookies",
        "persist_local_storage",
        "persist_session_storage",
        "skip_csrf_cookies",
    ),
    "expiry": ("expiry_time_from_last_use", "expiry_time_from_session_data_set"),
    "concurrency": (
        "allow_multiple_sessions",
        "max_concurrency",
        "prevent_concurrency_during_login",
    ),
    "proxy": ("proxy_setting", "proxy_value"),
}
