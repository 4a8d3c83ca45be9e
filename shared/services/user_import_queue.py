"""The import queue's handler: the background continuation of a large import."""

from __future__ import annotations

import logging

from shared.ports import InvalidMessage
from shared.services.partners import PartnerService
from shared.services.users import UserService

log = logging.getLogger("competency.users")


def import_message(body: object, partners: PartnerService, users: UserService) -> None:
    """The background continuation of a large import (queue trigger)."""
    if not isinstance(body, dict) or not isinstance(body.get("partnerId"), str) or not isinstance(body.get("importId"), str):
        raise InvalidMessage("an import message names a partnerId and an importId")
    partner = partners.document(body["partnerId"])
    if partner is None:
        log.warning("partner %s no longer exists; import %s dropped", body["partnerId"], body["importId"])
        return
    users.run_import(partner, body["importId"])
