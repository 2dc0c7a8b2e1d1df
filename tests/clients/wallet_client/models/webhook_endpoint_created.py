from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.webhook_endpoint_created_status import WebhookEndpointCreatedStatus
from ..models.webhook_event_type import WebhookEventType
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="WebhookEndpointCreated")



@_attrs_define
class WebhookEndpointCreated:
    """ 
        Attributes:
            account_id (UUID):
            created_at (datetime.datetime):
            description (str):
            disabled_reason (None | str):
            event_types (list[WebhookEventType]):
            id (UUID):
            secret (str):
            status (WebhookEndpointCreatedStatus):
            url (str):
     """

    account_id: UUID
    created_at: datetime.datetime
    description: str
    disabled_reason: None | str
    event_types: list[WebhookEventType]
    id: UUID
    secret: str
    status: WebhookEndpointCreatedStatus
    url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        account_id = str(self.account_id)

        created_at = self.created_at.isoformat()

        description = self.description

        disabled_reason: None | str
        disabled_reason = self.disabled_reason

        event_types = []
        for event_types_item_data in self.event_types:
            event_types_item = event_types_item_data.value
            event_types.append(event_types_item)



        id = str(self.id)

        secret = self.secret

        status = self.status.value

        url = self.url


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "account_id": account_id,
            "created_at": created_at,
            "description": description,
            "disabled_reason": disabled_reason,
            "event_types": event_types,
            "id": id,
            "secret": secret,
            "status": status,
            "url": url,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))




        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        description = d.pop("description")

        def _parse_disabled_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        disabled_reason = _parse_disabled_reason(d.pop("disabled_reason"))


        event_types = []
        _event_types = d.pop("event_types")
        for event_types_item_data in (_event_types):
            event_types_item = WebhookEventType(event_types_item_data)



            event_types.append(event_types_item)


        id = UUID(d.pop("id"))




        secret = d.pop("secret")

        status = WebhookEndpointCreatedStatus(d.pop("status"))




        url = d.pop("url")

        webhook_endpoint_created = cls(
            account_id=account_id,
            created_at=created_at,
            description=description,
            disabled_reason=disabled_reason,
            event_types=event_types,
            id=id,
            secret=secret,
            status=status,
            url=url,
        )


        webhook_endpoint_created.additional_properties = d
        return webhook_endpoint_created

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
