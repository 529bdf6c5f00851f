"""One form per editable section of the detail page (click-to-edit).

Each form carries the ``updated_at`` the operator saw (conflict detection) and turns what was
typed into the field values the entry should have (:meth:`wanted`); the update service then
sends only those that differ. Field checks are the same rules as the create form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)

from app.cloudcruise import VaultEntry
from app.cloudcruise import fields as catalogue
from app.entries.forms import (
    PROXY_CHOICES,
    TFA_CHOICES,
    ConcurrencyFields,
    Rule,
    SessionFields,
    choices,
    chosen_value,
    fill_provider_choices,
    json_label,
    label,
)
from app.services import entry_rules as rules
from app.services.entry_rules import RuleError

BLOB_ACTIONS = choices([("keep", "Keep"), ("replace", "Replace with"), ("clear", "Clear")])


def new(name: str) -> str:
    """The prompt of a secret input that replaces the stored value, e.g. "New password"."""
    return f"New {catalogue.inline(name)}"


def stored(name: str) -> str:
    """The legend of a stored blob's keep / replace / clear choice, e.g. "Stored cookies"."""
    return f"Stored {label(name).lower()}"


def _clean(field: Any) -> Any:
    return getattr(field, "clean", None)


class SectionForm(FlaskForm):
    class Meta:
        retype = ""  # labels of secrets the previous attempt asked to enter again

    updated_at = HiddenField()
    #: entry field names this section may change (in the order the conflict panel lists them)
    FIELDS: tuple[str, ...] = ()
    #: secret inputs that are never sent back to the browser after an error
    SECRETS: tuple[str, ...] = ()
    #: the section's other catalogue fields, with generated inputs (see :func:`_generate`)
    GENERATED: tuple[str, ...] = ()

    def bind_entry(self, entry: VaultEntry) -> None:
        """Context for cross-field checks (what is already stored)."""
        self.entry = entry

    def wanted(self) -> dict[str, Any]:
        """The values of the fields this section's form declares by hand."""
        raise NotImplementedError

    def changes(self) -> dict[str, Any]:
        """Everything the section sets: :meth:`wanted` plus the generated inputs."""
        out = self.wanted()
        for name in self.GENERATED:
            field = getattr(self, name)
            if isinstance(field, BooleanField):
                out[name] = bool(field.data)
            elif isinstance(field, SelectField):
                out[name] = None if field.data in ("", "none", None) else field.data
            else:
                out[name] = _clean(field)
        return out

    def cross_check(self, values: dict[str, Any]) -> dict[str, str]:
        existing = {
            "has_tfa_secret": self.entry.has_secret("tfa_secret"),
            "provider_backed": self.entry.provider_backed,
        }
        return rules.cross_field(values, existing)

    def check_fields(self) -> bool:
        """Checks beyond per-field validators (run after them, before cross-field checks)."""
        return True

    def check_retyped(self, retype: str) -> bool:
        """After an error the form asked for typed secrets again (they are never sent back);
        saving without them would silently drop the change, so it is refused instead."""
        ok = True
        labels = {n: getattr(self, n).label.text for n in self.SECRETS}
        for name, text in labels.items():
            if text in retype.split(",") and not getattr(self, name).data:
                getattr(self, name).errors.append(
                    f"Enter the {text.lower()} again (it was not saved), or Cancel."
                )
                ok = False
        return ok

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)  # resets every field's errors first
        ok = self.check_fields() and ok
        ok = self.check_retyped(self.meta.retype) and ok
        if not ok:
            return False
        for name, message in self.cross_check(self.wanted()).items():
            field = getattr(self, name, None)
            if field is None:
                field = self.form_errors_field
            field.errors = [*field.errors, message]
            ok = False
        return ok

    @property
    def form_errors_field(self) -> Any:
        return self.updated_at

    def forget_secrets(self) -> list[str]:
        typed = []
        for name in self.SECRETS:
            field = getattr(self, name)
            if field.data:
                typed.append(field.label.text)
            field.data = ""
        return typed


class CredentialsForm(SectionForm):
    FIELDS = ("user_alias", "user_name", "password")
    SECRETS = ("user_name", "password")

    user_alias = StringField(label("user_alias"), validators=[Rule(rules.alias)])
    user_name = StringField(
        new("user_name"), validators=[Rule(lambda v: rules.secret_text(v, "username"))]
    )
    password = PasswordField(
        new("password"), validators=[Rule(lambda v: rules.secret_text(v, "password"))]
    )

    def wanted(self) -> dict[str, Any]:
        out: dict[str, Any] = {"user_alias": _clean(self.user_alias)}
        if self.entry.provider_backed:
            return out
        for name in ("user_name", "password"):
            if _clean(getattr(self, name)):  # empty means "keep the stored value"
                out[name] = _clean(getattr(self, name))
        return out


class TwoFactorForm(SectionForm):
    FIELDS = ("tfa_method", "tfa_secret")
    SECRETS = ("tfa_secret",)

    # an unknown or withdrawn choice reads as "none", which the update service refuses
    # with the reason when a method is set
    tfa_method = SelectField(
        label("tfa_method"), choices=choices(TFA_CHOICES), validate_choice=False
    )
    tfa_secret = PasswordField(new("tfa_secret"), validators=[Rule(rules.tfa_secret)])

    def bind_entry(self, entry: VaultEntry) -> None:
        super().bind_entry(entry)
        if entry.tfa_method:  # the API cannot remove a method once set (docs/cloudcruise-api.md)
            self.tfa_method.choices = [c for c in self.tfa_method.choices if c.value != "none"]

    def wanted(self) -> dict[str, Any]:
        method = self.tfa_method.data if self.tfa_method.data in dict(TFA_CHOICES) else "none"
        out: dict[str, Any] = {"tfa_method": None if method == "none" else method}
        if _clean(self.tfa_secret):
            out["tfa_secret"] = _clean(self.tfa_secret)
        return out


class SessionForm(SessionFields, SectionForm):
    FIELDS = (
        "persist_cookies", "persist_local_storage", "persist_session_storage",
        "cookie_domain_to_store", "skip_csrf_cookies", "expiry_time_from_last_use",
        "expiry_time_from_session_data_set", "cookies", "local_storage", "session_storage",
    )  # fmt: skip

    cookies_action = RadioField(stored("cookies"), choices=BLOB_ACTIONS, default="keep")
    cookies = TextAreaField(json_label("cookies"))
    local_storage_action = RadioField(stored("local_storage"), choices=BLOB_ACTIONS, default="keep")
    local_storage = TextAreaField(json_label("local_storage"))
    session_storage_action = RadioField(
        stored("session_storage"), choices=BLOB_ACTIONS, default="keep"
    )
    session_storage = TextAreaField(json_label("session_storage"))

    BLOBS: dict[str, tuple[Callable[[Any], Any], Any]] = {
        "cookies": (rules.cookies_json, []),
        "local_storage": (rules.storage_json, {}),
        "session_storage": (rules.storage_json, {}),
    }

    def check_fields(self) -> bool:
        ok = True
        for name, (check, _empty) in self.BLOBS.items():
            field = getattr(self, name)
            field.clean = None
            if getattr(self, f"{name}_action").data == "replace":
                ok = chosen_value(field, check, "Paste the JSON to store, or choose Clear.") and ok
        return ok

    def wanted(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            name: bool(getattr(self, name).data)
            for name in ("persist_cookies", "persist_local_storage", "persist_session_storage",
                         "skip_csrf_cookies")
        }  # fmt: skip
        out["cookie_domain_to_store"] = _clean(self.cookie_domain_to_store)
        out["expiry_time_from_last_use"] = _clean(self.expiry_time_from_last_use)
        out["expiry_time_from_session_data_set"] = _clean(self.expiry_time_from_session_data_set)
        for name, (_check, empty) in self.BLOBS.items():
            action = getattr(self, f"{name}_action").data
            if action == "replace":
                out[name] = getattr(self, name).clean
            elif action == "clear":
                out[name] = empty
        return out


class ConcurrencyForm(ConcurrencyFields, SectionForm):
    FIELDS = ("allow_multiple_sessions", "max_concurrency", "prevent_concurrency_during_login")

    def wanted(self) -> dict[str, Any]:
        return {
            "allow_multiple_sessions": bool(self.allow_multiple_sessions.data),
            "max_concurrency": _clean(self.max_concurrency),
            "prevent_concurrency_during_login": bool(self.prevent_concurrency_during_login.data),
        }


class ProxyForm(SectionForm):
    FIELDS = ("proxy_setting", "proxy_value")

    proxy_setting = SelectField(
        label("proxy_setting"), choices=choices(PROXY_CHOICES), validate_choice=False
    )
    proxy_value = StringField(label("proxy_value"))

    def bind_entry(self, entry: VaultEntry) -> None:
        super().bind_entry(entry)
        if entry.proxy_setting:  # the API cannot turn a proxy off (docs/cloudcruise-api.md)
            self.proxy_setting.choices = [
                c for c in self.proxy_setting.choices if c.value != "none"
            ]

    @property
    def mode(self) -> str | None:
        data = self.proxy_setting.data
        return data if data in ("random", "static", "country", "custom") else None

    def keeps_custom_url(self) -> bool:
        """Custom mode stays and the URL field was left empty: keep the stored URL."""
        return (
            self.mode == "custom"
            and not (self.proxy_value.data or "").strip()
            and self.entry.proxy_setting == "custom"
            and self.entry.has_secret("proxy_value")
        )

    def check_fields(self) -> bool:
        self.proxy_value.clean = None
        if self.keeps_custom_url():
            return True
        try:
            self.proxy_value.clean = rules.proxy_value(self.mode, self.proxy_value.data)
        except RuleError as exc:
            self.proxy_value.errors = [*self.proxy_value.errors, str(exc)]
            return False
        return True

    def wanted(self) -> dict[str, Any]:
        if self.keeps_custom_url():
            return {"proxy_setting": "custom"}
        return {"proxy_setting": self.mode, "proxy_value": _clean(self.proxy_value)}

    def forget_secrets(self) -> list[str]:
        if self.mode == "custom" and self.proxy_value.data:
            self.proxy_value.data = ""
            return [catalogue.short_label("proxy_value")]
        return []

    def check_retyped(self, retype: str) -> bool:
        if (
            catalogue.short_label("proxy_value") in retype.split(",")
            and not (self.proxy_value.data or "").strip()
        ):
            self.proxy_value.errors.append(
                "Enter the proxy URL again (it was not saved), or Cancel."
            )
            return False
        return True


class ProviderForm(SectionForm):
    FIELDS = (
        "secret_provider_id",
        "secret_ref",
        "secret_cache_ttl_seconds",
        "user_name",
        "password",
    )
    SECRETS = ("user_name", "password")

    binding = RadioField(
        "Credentials come from",
        choices=choices([("provider", "A 1Password item"), ("stored", "Stored in the vault")]),
    )
    secret_provider_id = SelectField(label("secret_provider_id"), choices=[], validate_choice=False)
    secret_ref = SelectField("1Password item", choices=[], validate_choice=False)
    secret_cache_ttl_seconds = StringField(
        f"{label('secret_cache_ttl_seconds')} (seconds)", validators=[Rule(rules.ttl_seconds)]
    )
    user_name = StringField(
        label("user_name"), validators=[Rule(lambda v: rules.secret_text(v, "username"))]
    )
    password = PasswordField(
        label("password"), validators=[Rule(lambda v: rules.secret_text(v, "password"))]
    )
    #: the service's messages about the binding belong beside the radio buttons
    ERROR_FIELDS = {"secret_provider_id": "binding", "secret_ref": "binding"}

    def set_providers(self, providers: list[dict[str, Any]], items: list[dict[str, Any]]) -> None:
        fill_provider_choices(self, providers, items)

    def wanted(self) -> dict[str, Any]:
        if self.binding.data == "provider":
            return {
                "secret_provider_id": self.secret_provider_id.data or None,
                "secret_ref": self.secret_ref.data or None,
                "secret_cache_ttl_seconds": _clean(self.secret_cache_ttl_seconds),
            }
        out: dict[str, Any] = {"secret_provider_id": None, "secret_ref": None}
        for name in ("user_name", "password"):
            if _clean(getattr(self, name)):
                out[name] = _clean(getattr(self, name))
        return out

    def cross_check(self, values: dict[str, Any]) -> dict[str, str]:
        if self.binding.data == "provider":
            errors = super().cross_check(values)
            if not values.get("secret_provider_id"):
                errors["secret_provider_id"] = "Choose the 1Password connection."
            return errors
        # unbinding: the update service refuses it (the API has no documented way)
        return {}


SECTIONS: dict[str, type[SectionForm]] = {
    "credentials": CredentialsForm,
    "twofactor": TwoFactorForm,
    "session": SessionForm,
    "concurrency": ConcurrencyForm,
    "proxy": ProxyForm,
    "provider": ProviderForm,
}


def _rule(spec: catalogue.Field) -> Callable[[Any], Any]:
    if spec.rule:
        rule: Callable[[Any], Any] = getattr(rules, spec.rule)
        return rule
    if spec.kind is catalogue.Kind.INTERVAL:
        return rules.interval
    if spec.kind is catalogue.Kind.INTEGER:
        return lambda value: rules.whole_number(value, spec.label)
    return lambda value: rules.plain_text(value, f"The {catalogue.inline(spec.name)}", 255)


def _input(spec: catalogue.Field) -> Any:
    """A WTForms input for a catalogue field, by its kind."""
    if spec.kind is catalogue.Kind.BOOL:
        return BooleanField(spec.label)
    if spec.kind is catalogue.Kind.CHOICE:
        pairs = choices(catalogue.choice_pairs(spec.name))
        return SelectField(spec.label, choices=pairs, validate_choice=False)
    return StringField(spec.label, validators=[Rule(_rule(spec))])


def _generate() -> None:
    """Give each section's form an input for every catalogue field of that section it does
    not declare by hand: a new plain field needs only its catalogue line."""
    for key, cls in SECTIONS.items():
        extra = catalogue.generated(key, cls.FIELDS)
        for spec in extra:
            setattr(cls, spec.name, _input(spec))
        cls.GENERATED = tuple(spec.name for spec in extra)
        cls.FIELDS = (*cls.FIELDS, *cls.GENERATED)


_generate()


def form_for(section: str, entry: VaultEntry, formdata: Any = None) -> SectionForm:
    """The section's form, prefilled from ``entry`` (GET) or from the request (POST)."""
    cls = SECTIONS[section]
    data = entry.to_mapping()
    prefill: dict[str, Any] = {"updated_at": data.get("updated_at")}
    for name in cls.FIELDS:
        if name in cls.SECRETS or name in SessionForm.BLOBS:
            continue
        value = data.get(name)
        if name in ("tfa_method", "proxy_setting"):
            value = value or "none"
        if name == "proxy_value" and entry.proxy_setting not in ("static", "country"):
            value = ""  # a custom URL is a secret: never prefilled
        prefill[name] = "" if value is None else value
    if cls is ProviderForm:
        prefill["binding"] = "provider" if entry.provider_backed else "stored"
    kwargs = {"formdata": formdata} if formdata is not None else {"formdata": None}
    retype = (formdata.get("retype", "") if formdata is not None else "")[:200]
    form = cls(data=prefill, meta={"retype": retype}, **kwargs)
    form.bind_entry(entry)
    return form
