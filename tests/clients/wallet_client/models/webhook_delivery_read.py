from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.webhook_delivery_read_status import WebhookDeliveryReadStatus
from ..models.webhook_event_type import WebhookEventType
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.webhook_attempt_read import WebhookAttemptRead





T = TypeVar("T", bound="WebhookDeliveryRead")



@_attrs_define
class WebhookDeliveryRead:
    """ 
        Attributes:
            attempts (int):
            created_at (datetime.datetime):
            delivered_at (datetime.datetime | None):
            endpoint_id (UUID):
            event_type (WebhookEventType): What an endpoint may subscribe to. Each is delivered from one event the wallet
                handles (`webhooks.EVENTS`).
            id (UUID):
            log (list[WebhookAttemptRead]):
            message_id (str):
            next_attempt_at (datetime.datetime | None):
            status (WebhookDeliveryReadStatus):
     """

    attempts: int
    created_at: datetime.datetime
    delivered_at: datetime.datetime | None
    endpoint_id: UUID
    event_type: WebhookEventType
    id: UUID
    log: list[WebhookAttemptRead]
    message_id: str
    next_attempt_at: datetime.datetime | None
    status: WebhookDeliveryReadStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.webhook_attempt_read import WebhookAttemptRead # noqa: PLC0415
        attempts = self.attempts

        created_at = self.created_at.isoformat()

        delivered_at: None | str
        if isinstance(self.delivered_at, datetime.datetime):
            delivered_at = self.delivered_at.isoformat()
        else:
            delivered_at = self.delivered_at

        endpoint_id = str(self.endpoint_id)

        event_type = self.event_type.value

        id = str(self.id)

        log = []
        for log_item_data in self.log:
            log_item = log_item_data.to_dict()
            log.append(log_item)



        message_id = self.message_id

        next_attempt_at: None | str
        if isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at

        status = self.status.value


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "attempts": attempts,
            "created_at": created_at,
            "delivered_at": delivered_at,
            "endpoint_id": endpoint_id,
            "event_type": event_type,
            "id": id,
            "log": log,
            "message_id": message_id,
            "next_attempt_at": next_attempt_at,
            "status": status,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.webhook_attempt_read import WebhookAttemptRead # noqa: PLC0415
        d = dict(src_dict)
        attempts = d.pop("attempts")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        def _parse_delivered_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                delivered_at_type_0 = datetime.datetime.fromisoformat(data)



                return delivered_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        delivered_at = _parse_delivered_at(d.pop("delivered_at"))


        endpoint_id = UUID(d.pop("endpoint_id"))




        event_type = WebhookEventType(d.pop("event_type"))




        id = UUID(d.pop("id"))




        log = []
        _log = d.pop("log")
        for log_item_data in (_log):
            log_item = WebhookAttemptRead.from_dict(log_item_data)



            log.append(log_item)


        message_id = d.pop("message_id")

        def _parse_next_attempt_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_0 = datetime.datetime.fromisoformat(data)



                return next_attempt_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at"))


        status = WebhookDeliveryReadStatus(d.pop("status"))




        webhook_delivery_read = cls(
            attempts=attempts,
            created_at=created_at,
            delivered_at=delivered_at,
            endpoint_id=endpoint_id,
            event_type=event_type,
            id=id,
            log=log,
            message_id=message_id,
            next_attempt_at=next_attempt_at,
            status=status,
        )


        webhook_delivery_read.additional_properties = d
        return webhook_delivery_read

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
