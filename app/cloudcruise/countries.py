"""ISO 3166-1 alpha-2 country codes (proxy_setting "country")."""

from app.sandbox.countries import COUNTRY_CODES  # noqa: F401  (moved here after the sandbox lands)
