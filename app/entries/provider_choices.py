"""The 1Password pickers of the create form and the Secret provider editor, filled from the
API (the forms themselves do no I/O)."""

from __future__ import annotations

from typing import Any

from app.entries.forms import fill_provider_choices
from app.services import entries
from app.upstream_errors import UpstreamError


def load_provider_choices(form: Any) -> str | None:
    """Fill ``form``'s provider and item pickers from the API (items of the chosen
    connection); returns a message for the operator if they could not be loaded."""
    try:
        providers = entries.secret_providers()
        chosen = form.secret_provider_id.data or ""
        items = entries.provider_items(chosen) if chosen else []
    except UpstreamError as exc:
        fill_provider_choices(form, [], [])
        return f"The 1Password connections could not be loaded: {exc.message}"
    fill_provider_choices(form, providers, items)
    return None
