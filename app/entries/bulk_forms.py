"""The changes a bulk operation can apply: session persistence, expiry, concurrency, proxy.

Every step defaults to "Keep as is", which sends nothing; :meth:`BulkForm.wanted` returns
only what should change, in the same shape the inline editors produce, so one update service
saves both. Contradictory input (an interval typed with "No expiry", a limit with
"Unlimited", a proxy value with a mode that takes none) is refused beside the field rather
than silently dropped, and so is a change that changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, StringField

from app.cloudcruise import fields as catalogue
from app.entries.forms import PROXY_CHOICES, choices, chosen_value, label
from app.services import entry_rules as rules
from app.services.entry_rules import RuleError

KEEP = "keep"
KEEP_LABEL = "Keep as is"
FLAG = choices([(KEEP, KEEP_LABEL), ("on", "Turn on"), ("off", "Turn off")])
KINDS = {
    "persistence": ("Session persistence", "session"),
    "expiry": ("Session expiry", "session"),
    "concurrency": ("Concurrency", "concurrency"),
    "proxy": ("Proxy", "proxy"),
}
NOTHING = "Nothing would change: every field is at “Keep as is”. Choose at least one change."


def _typed(field: Any) -> bool:
    return bool((field.data or "").strip())


def _needs_nothing(field: Any, choice: Any) -> bool:
    """Refuse a value typed beside a choice that takes none (it would be ignored)."""
    if not _typed(field):
        return True
    chosen = next((text for value, text, *_ in choice.iter_choices() if value == choice.data), "")
    field.errors = [*field.errors, f"“{chosen}” takes no value; clear this field."]
    return False


class BulkForm(FlaskForm):
    class Meta:
        csrf = False  # the page-level CSRFProtect checks every POST already

    #: on/off fields of this kind
    FLAGS: tuple[str, ...] = ()
    #: a message for the whole change (e.g. nothing to change), shown above the fields
    problem: str | None = None

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        self.problem = None
        ok = self.check() and ok
        if ok and not self.wanted():
            self.problem = NOTHING
            ok = False
        return ok

    def check(self) -> bool:
        """Checks of this kind beyond the choices (values, contradictions)."""
        return True

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

    @classmethod
    def formdata(cls, wanted: Mapping[str, Any]) -> MultiDict[str, str]:
        """The form's input that asks for ``wanted`` (absent fields: keep), e.g. to retry a
        batch from what its audit events recorded. A secret (a custom proxy URL) is not
        known: its field is left empty, to be entered again."""
        data: MultiDict[str, str] = MultiDict()
        for name in cls.FLAGS:
            value = wanted.get(name)
            data[name] = KEEP if name not in wanted else ("on" if value else "off")
        return data


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
    persist_cookies = SelectField(label("persist_cookies"), choices=FLAG, default=KEEP)
    persist_local_storage = SelectField(label("persist_local_storage"), choices=FLAG, default=KEEP)
    persist_session_storage = SelectField(
        label("persist_session_storage"), choices=FLAG, default=KEEP
    )
    skip_csrf_cookies = SelectField(label("skip_csrf_cookies"), choices=FLAG, default=KEEP)


EXPIRY_ACTIONS = choices([(KEEP, KEEP_LABEL), ("set", "Set to"), ("none", "No expiry")])


class ExpiryForm(BulkForm):
    INTERVALS = ("expiry_time_from_last_use", "expiry_time_from_session_data_set")
    expiry_time_from_last_use_action = SelectField(
        label("expiry_time_from_last_use"), choices=EXPIRY_ACTIONS, default=KEEP
    )
    expiry_time_from_last_use = StringField(f"{label('expiry_time_from_last_use')}: interval")
    expiry_time_from_session_data_set_action = SelectField(
        label("expiry_time_from_session_data_set"), choices=EXPIRY_ACTIONS, default=KEEP
    )
    expiry_time_from_session_data_set = StringField(
        f"{label('expiry_time_from_session_data_set')}: interval"
    )

    def check(self) -> bool:
        ok = True
        for name in self.INTERVALS:
            field = getattr(self, name)
            action = getattr(self, f"{name}_action")
            field.clean = None
            if action.data == "set":
                missing = "Enter the interval, or choose “No expiry”."
                ok = chosen_value(field, rules.interval, missing) and ok
            else:
                ok = _needs_nothing(field, action) and ok
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

    @classmethod
    def formdata(cls, wanted: Mapping[str, Any]) -> MultiDict[str, str]:
        data: MultiDict[str, str] = MultiDict()
        for name in cls.INTERVALS:
            value = wanted.get(name)
            action = KEEP if name not in wanted else ("none" if value is None else "set")
            data[f"{name}_action"] = action
            data[name] = str(value) if action == "set" else ""
        return data


LIMIT_ACTIONS = choices([(KEEP, KEEP_LABEL), ("set", "Set to"), ("unlimited", "Unlimited")])


class ConcurrencyForm(BulkForm):
    FLAGS = ("allow_multiple_sessions", "prevent_concurrency_during_login")
    allow_multiple_sessions = SelectField(
        label("allow_multiple_sessions"), choices=FLAG, default=KEEP
    )
    max_concurrency_action = SelectField(
        label("max_concurrency"), choices=LIMIT_ACTIONS, default=KEEP
    )
    max_concurrency = StringField(f"{label('max_concurrency')}: limit")
    prevent_concurrency_during_login = SelectField(
        label("prevent_concurrency_during_login"), choices=FLAG, default=KEEP
    )

    def check(self) -> bool:
        self.max_concurrency.clean = None
        action = self.max_concurrency_action
        if action.data == "set":
            missing = "Enter a limit, or choose “Unlimited”."
            if not chosen_value(self.max_concurrency, rules.max_concurrency, missing):
                return False
        elif not _needs_nothing(self.max_concurrency, action):
            return False
        if action.data != KEEP and self.allow_multiple_sessions.data == "off":
            self.max_concurrency.errors = ["A limit needs multiple sessions to be allowed."]
            return False
        return True

    def wanted(self) -> dict[str, Any]:
        out = super().wanted()
        if self.max_concurrency_action.data == "set":
            out["max_concurrency"] = self.max_concurrency.clean
        elif self.max_concurrency_action.data == "unlimited":
            out["max_concurrency"] = None
        return out

    @classmethod
    def formdata(cls, wanted: Mapping[str, Any]) -> MultiDict[str, str]:
        data = super().formdata(wanted)
        value = wanted.get("max_concurrency")
        action = (
            KEEP if "max_concurrency" not in wanted else ("unlimited" if value is None else "set")
        )
        data["max_concurrency_action"] = action
        data["max_concurrency"] = str(value) if action == "set" else ""
        return data


class ProxyForm(BulkForm):
    # keep first (the default: nothing sent), then the managed modes, the most common change
    proxy_setting = SelectField(
        label("proxy_setting"),
        choices=choices([(KEEP, KEEP_LABEL), *PROXY_CHOICES[1:], PROXY_CHOICES[0]]),
        default=KEEP,
    )
    proxy_value = StringField(label("proxy_value"))

    @property
    def mode(self) -> str | None:
        return None if self.proxy_setting.data == "none" else self.proxy_setting.data

    def check(self) -> bool:
        self.proxy_value.clean = None
        if self.proxy_setting.data == KEEP:
            return _needs_nothing(self.proxy_value, self.proxy_setting)
        try:
            self.proxy_value.clean = rules.proxy_value(self.mode, self.proxy_value.data)
        except RuleError as exc:
            self.proxy_value.errors = [str(exc)]
            return False
        return True

    def wanted(self) -> dict[str, Any]:
        if self.proxy_setting.data == KEEP:
            return {}
        return {"proxy_setting": self.mode, "proxy_value": self.proxy_value.clean}

    def describe(self) -> list[str]:
        if self.mode == "custom":
            return [
                f"{label('proxy_setting')} → {show('proxy_setting', 'custom')}",
                f"{label('proxy_value')} → (the URL you entered, encrypted)",
            ]
        return super().describe()

    @classmethod
    def formdata(cls, wanted: Mapping[str, Any]) -> MultiDict[str, str]:
        data: MultiDict[str, str] = MultiDict()
        if "proxy_setting" not in wanted and "proxy_value" not in wanted:
            data["proxy_setting"], data["proxy_value"] = KEEP, ""
            return data
        mode = wanted.get("proxy_setting")
        value = wanted.get("proxy_value")
        if not isinstance(value, str | type(None)):  # a secret, known only as "changed"
            mode, value = "custom", None
        data["proxy_setting"] = mode or "none"
        data["proxy_value"] = "" if mode == "custom" or value is None else value
        return data


FORMS: dict[str, type[BulkForm]] = {
    "persistence": PersistenceForm,
    "expiry": ExpiryForm,
    "concurrency": ConcurrencyForm,
    "proxy": ProxyForm,
}
#: Entry fields each kind shows in the preview's "current → new" columns.
SHOWN = {
    "persistence": PersistenceForm.FLAGS,
    "expiry": ExpiryForm.INTERVALS,
    "concurrency": (
        "allow_multiple_sessions",
        "max_concurrency",
        "prevent_concurrency_during_login",
    ),
    "proxy": ("proxy_setting", "proxy_value"),
}


def kind_of(action: str, names: set[str]) -> str | None:
    """The kind of a batch from its audit action and the fields its events name (session
    persistence and expiry share an action)."""
    kinds = [kind for kind, (_label, group) in KINDS.items() if action == f"entry.{group}.update"]
    return next((k for k in kinds if len(kinds) == 1 or names & set(SHOWN[k])), None)
