from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="GatewayRead")



@_attrs_define
class GatewayRead:
    """ 
        Attributes:
            domain_id (UUID):
            hwid (str):
            id (UUID):
            product (str):
            public_key (str):
            registered_at (datetime.datetime):
     """

    domain_id: UUID
    hwid: str
    id: UUID
    product: str
    public_key: str
    registered_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        domain_id = str(self.domain_id)

        hwid = self.hwid

        id = str(self.id)

        product = self.product

        public_key = self.public_key

        registered_at = self.registered_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "domain_id": domain_id,
            "hwid": hwid,
            "id": id,
            "product": product,
            "public_key": public_key,
            "registered_at": registered_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        domain_id = UUID(d.pop("domain_id"))




        hwid = d.pop("hwid")

        id = UUID(d.pop("id"))




        product = d.pop("product")

        public_key = d.pop("public_key")

        registered_at = datetime.datetime.fromisoformat(d.pop("registered_at"))




        gateway_read = cls(
            domain_id=domain_id,
            hwid=hwid,
            id=id,
            product=product,
            public_key=public_key,
            registered_at=registered_at,
        )


        gateway_read.additional_properties = d
        return gateway_read

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
