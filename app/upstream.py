"""The CloudCruise client this process uses (the primary provider's connection).

With ``CLOUDCRUISE_API_KEY`` set the client talks to the real API; without it, the embedded
sandbox. The connection is declared in :mod:`app.cloudcruise.provider` and made by the
provider registry (:func:`app.providers.init_app`); this module only reaches it.
"""

from __future__ import annotations

from flask import current_app

from app.cloudcruise import CloudCruiseClient
from app.cloudcruise.provider import CloudCruiseConnection

#: The old name of the CloudCruise connection.
UpstreamHolder = CloudCruiseConnection


def holder() -> CloudCruiseConnection:
    return current_app.extensions["upstream"]


def client() -> CloudCruiseClient:
    return holder().client()
