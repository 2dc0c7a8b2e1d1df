from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.device_type import DeviceType
from typing import cast
from uuid import UUID
import datetime






T = TypeVar("T", bound="DeviceRead")



@_attrs_define
class DeviceRead:
    """ 
        Attributes:
            domain_id (UUID):
            hwid (str):
            id (UUID):
            product (str):
            provisioned_at (datetime.datetime):
            type_ (DeviceType): What kind of hardware enrols. Kept small on purpose: contracts and the licences key off it.
     """

    domain_id: UUID
    hwid: str
    id: UUID
    product: str
    provisioned_at: datetime.datetime
    type_: DeviceType
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        domain_id = str(self.domain_id)

        hwid = self.hwid

        id = str(self.id)

        product = self.product

        provisioned_at = self.provisioned_at.isoformat()

        type_ = self.type_.value


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "domain_id": domain_id,
            "hwid": hwid,
            "id": id,
            "product": product,
            "provisioned_at": provisioned_at,
            "type": type_,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        domain_id = UUID(d.pop("domain_id"))




        hwid = d.pop("hwid")

        id = UUID(d.pop("id"))




        product = d.pop("product")

        provisioned_at = datetime.datetime.fromisoformat(d.pop("provisioned_at"))




        type_ = DeviceType(d.pop("type"))




        device_read = cls(
            domain_id=domain_id,
            hwid=hwid,
            id=id,
            product=product,
            provisioned_at=provisioned_at,
            type_=type_,
        )


        device_read.additional_properties = d
        return device_read

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
