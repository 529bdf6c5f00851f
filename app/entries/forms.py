"""WTForms forms for entries. Field checks delegate to :mod:`app.services.entry_rules`.

Each rule both validates and cleans: the cleaned value is stored on ``field.clean`` and
:meth:`EntryForm.payload` builds the API body from those, so what is validated is exactly
what is sent.
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
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import ValidationError

from app.cloudcruise import fields as catalogue
from app.cloudcruise.fields import CREDENTIAL_FIELDS
from app.services import entry_rules as rules
from app.services.entry_rules import RuleError


class Rule:
    """Adapter: run an entry rule as a WTForms validator and keep the cleaned value."""

    def __init__(self, check: Callable[[Any], Any]) -> None:
        self.check = check

    def __call__(self, form: FlaskForm, field: Any) -> None:
        try:
            field.clean = self.check(field.data)
        except RuleError as exc:
            field.clean = None
            raise ValidationError(str(exc)) from None


def chosen_value(field: Any, check: Callable[[Any], Any], missing: str) -> bool:
    """Check a value the operator chose to set (an action "replace" / "set"): the cleaned
    value lands on ``field.clean``; a rule's message, or ``missing`` for an empty value,
    lands on the field."""
    field.clean = None
    try:
        field.clean = check(field.data)
    except RuleError as exc:
        field.errors = [str(exc)]
        return False
    if field.clean is None:
        field.errors = [missing]
        return False
    return True


def _secret(what: str) -> Rule:
    return Rule(lambda value: rules.secret_text(value, what))


def choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def fill_provider_choices(
    form: Any, providers: list[dict[str, Any]], items: list[dict[str, Any]]
) -> None:
    """Options of a form's ``secret_provider_id`` and ``secret_ref`` pickers."""
    form.secret_provider_id.choices = choices(
        [("", "Choose a connection…")] + [(p["id"], p.get("name") or p["id"]) for p in providers]
    )
    labels = [
        (
            i["ref"],
            (i.get("title") or i["ref"]) + (f" ({i['vaultName']})" if i.get("vaultName") else ""),
        )
        for i in items
    ]
    form.secret_ref.choices = choices([("", "Choose an item…"), *labels])


TFA_CHOICES = catalogue.choice_pairs("tfa_method")
PROXY_CHOICES = catalogue.choice_pairs("proxy_setting")


def label(name: str) -> str:
    """A form field's label: the catalogue's."""
    return catalogue.label(name)


def json_label(name: str) -> str:
    """The label of a field typed as JSON."""
    return f"{catalogue.label(name)} (JSON)"


class SessionFields:
    """Session persistence fields, shared by the create form and the Session section editor
    (WTForms collects fields from every class in the form's MRO)."""

    persist_cookies = BooleanField(catalogue.short_label("persist_cookies"))
    persist_local_storage = BooleanField(catalogue.short_label("persist_local_storage"))
    persist_session_storage = BooleanField(catalogue.short_label("persist_session_storage"))
    cookie_domain_to_store = StringField(
        label("cookie_domain_to_store"),
        validators=[Rule(lambda v: rules.plain_text(v, "The cookie domain", 255))],
    )
    skip_csrf_cookies = BooleanField(label("skip_csrf_cookies"))
    expiry_time_from_last_use = StringField(
        label("expiry_time_from_last_use"), validators=[Rule(rules.interval)]
    )
    expiry_time_from_session_data_set = StringField(
        label("expiry_time_from_session_data_set"), validators=[Rule(rules.interval)]
    )


class ConcurrencyFields:
    """Concurrency fields, shared by the create form and the Concurrency section editor."""

    allow_multiple_sessions = BooleanField(label("allow_multiple_sessions"))
    max_concurrency = StringField(
        label("max_concurrency"), validators=[Rule(rules.max_concurrency)]
    )
    prevent_concurrency_during_login = BooleanField(label("prevent_concurrency_during_login"))


class EntryForm(SessionFields, ConcurrencyFields, FlaskForm):
    permissioned_user_id = StringField(
        label("permissioned_user_id"), validators=[Rule(rules.permissioned_user_id)]
    )
    domain = StringField(label("domain"), validators=[Rule(rules.domain)])
    user_alias = StringField(label("user_alias"), validators=[Rule(rules.alias)])
    source = RadioField(
        "Credentials come from",
        choices=choices([("stored", "Stored in the vault"), ("provider", "A 1Password item")]),
        default="stored",
    )
    user_name = StringField(label("user_name"), validators=[_secret("username")])
    password = PasswordField(label("password"), validators=[_secret("password")])
    secret_provider_id = SelectField(label("secret_provider_id"), choices=[], validate_choice=False)
    secret_ref = SelectField("1Password item", choices=[], validate_choice=False)
    secret_cache_ttl_seconds = StringField(
        f"{label('secret_cache_ttl_seconds')} (seconds)", validators=[Rule(rules.ttl_seconds)]
    )
    tfa_method = SelectField(label("tfa_method"), choices=choices(TFA_CHOICES), default="none")
    tfa_secret = PasswordField(label("tfa_secret"), validators=[Rule(rules.tfa_secret)])
    cookies = TextAreaField(json_label("cookies"), validators=[Rule(rules.cookies_json)])
    local_storage = TextAreaField(
        json_label("local_storage"), validators=[Rule(rules.storage_json)]
    )
    session_storage = TextAreaField(
        json_label("session_storage"), validators=[Rule(rules.storage_json)]
    )
    proxy_setting = SelectField(
        label("proxy_setting"), choices=choices(PROXY_CHOICES), default="none"
    )
    proxy_value = StringField(label("proxy_value"))
    user_agent = StringField(
        label("user_agent"),
        validators=[Rule(lambda v: rules.plain_text(v, "The user agent", 1024))],
    )
    #: labels of the secrets a previous answer asked to be typed again (see forget_secrets)
    retype = HiddenField()

    #: the fields in the order the page shows them: the first with an error gets the focus
    PAGE_ORDER = (
        "permissioned_user_id", "domain", "user_alias", "source", "user_name", "password",
        "secret_provider_id", "secret_ref", "secret_cache_ttl_seconds", "tfa_method",
        "tfa_secret", "persist_cookies", "persist_local_storage", "persist_session_storage",
        "expiry_time_from_last_use", "expiry_time_from_session_data_set",
        "cookie_domain_to_store", "skip_csrf_cookies", "cookies", "local_storage",
        "session_storage", "allow_multiple_sessions", "max_concurrency",
        "prevent_concurrency_during_login", "proxy_setting", "proxy_value", "user_agent",
    )  # fmt: skip
    #: the one secret sent back to the browser after an error (see forget_secrets)
    KEPT_SECRET = "user_name"
    #: set by validate when https:// was put in front of a bare host
    domain_completed = False

    def set_providers(self, providers: list[dict[str, Any]], items: list[dict[str, Any]]) -> None:
        fill_provider_choices(self, providers, items)

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        provider = self.source.data == "provider"
        mode = self.proxy_setting.data if self.proxy_setting.data != "none" else None
        try:
            self.proxy_value.clean = rules.proxy_value(mode, self.proxy_value.data)
        except RuleError as exc:
            self.proxy_value.errors.append(str(exc))
            ok = False
        values = self.values()
        if not provider:
            values["secret_provider_id"] = values["secret_ref"] = None
        elif not values.get("secret_provider_id"):
            self.secret_provider_id.errors.append("Choose the 1Password connection.")
            ok = False
        for name, message in rules.cross_field(values).items():
            field = getattr(self, name)
            if message not in field.errors:
                field.errors.append(message)
            ok = False
        if not provider and self._owed("password") and not self.password.data:
            # asked for again after an error: creating the entry without it would drop it
            self.password.errors.append("Enter the password again (it was not kept).")
            ok = False
        domain = getattr(self.domain, "clean", None)
        if domain and domain != (self.domain.data or "").strip():
            self.domain.data = domain  # "portal.example.com" shows as sent: https://…
            self.domain_completed = True
        return ok

    def _owed(self, name: str) -> bool:
        """Whether an earlier answer asked for this secret to be typed again."""
        return getattr(self, name).label.text in (self.retype.data or "").split(",")

    def focus(self) -> None:
        """Autofocus the first field with an error (in page order), else the first field:
        on a full page the browser focuses it, on an htmx swap htmx does."""
        name = next((n for n in self.PAGE_ORDER if self[n].errors), self.PAGE_ORDER[0])
        self[name].render_kw = {**(self[name].render_kw or {}), "autofocus": True}

    def values(self) -> dict[str, Any]:
        """Cleaned values of every entry field (None where empty)."""
        provider = self.source.data == "provider"
        # an unknown choice is already an error on the field (SelectField); treat it as none
        tfa = self.tfa_method.data if self.tfa_method.data in rules.TFA_METHODS else None
        return {
            "permissioned_user_id": getattr(self.permissioned_user_id, "clean", None),
            "domain": getattr(self.domain, "clean", None),
            "user_alias": getattr(self.user_alias, "clean", None),
            # hidden (and ignored) when the credentials come from a provider
            "user_name": None if provider else getattr(self.user_name, "clean", None),
            "password": None if provider else getattr(self.password, "clean", None),
            "secret_provider_id": (self.secret_provider_id.data or None) if provider else None,
            "secret_ref": (self.secret_ref.data or None) if provider else None,
            "secret_cache_ttl_seconds": getattr(self.secret_cache_ttl_seconds, "clean", None),
            "tfa_method": tfa,
            "tfa_secret": getattr(self.tfa_secret, "clean", None),
            "persist_cookies": self.persist_cookies.data,
            "persist_local_storage": self.persist_local_storage.data,
            "persist_session_storage": self.persist_session_storage.data,
            "cookie_domain_to_store": getattr(self.cookie_domain_to_store, "clean", None),
            "skip_csrf_cookies": self.skip_csrf_cookies.data,
            "expiry_time_from_last_use": getattr(self.expiry_time_from_last_use, "clean", None),
            "expiry_time_from_session_data_set": getattr(
                self.expiry_time_from_session_data_set, "clean", None
            ),
            "cookies": getattr(self.cookies, "clean", None),
            "local_storage": getattr(self.local_storage, "clean", None),
            "session_storage": getattr(self.session_storage, "clean", None),
            "allow_multiple_sessions": self.allow_multiple_sessions.data,
            "max_concurrency": getattr(self.max_concurrency, "clean", None),
            "prevent_concurrency_during_login": self.prevent_concurrency_during_login.data,
            "proxy_setting": self.proxy_setting.data if self.proxy_setting.data != "none" else None,
            "proxy_value": getattr(self.proxy_value, "clean", None),
            "user_agent": getattr(self.user_agent, "clean", None),
        }

    def payload(self) -> dict[str, Any]:
        """The POST body: every field with a value (booleans always), plaintext secrets."""
        return {
            key: value for key, value in self.values().items() if value is not None and value != ""
        }

    def forget_secrets(self) -> list[str]:
        """Blank the secret inputs before re-rendering (a typed secret is never sent back to
        the browser) and return the labels to type again: those typed now, and those still
        owed from an earlier answer. The username alone is kept: it goes back into its
        input exactly as typed (an identifier the operator needs to see, not a key)."""
        owed = []
        for name in CREDENTIAL_FIELDS:
            if name == self.KEPT_SECRET:
                continue
            field = getattr(self, name)
            if field.data or self._owed(name):
                owed.append(field.label.text)
            field.data = ""
        if self.proxy_setting.data == "custom" and self.proxy_value.data:
            owed.append(catalogue.short_label("proxy_value"))
            self.proxy_value.data = ""
        self.retype.data = ",".join(owed)
        return owed
