from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.device_type import DeviceType
from typing import cast
from uuid import UUID






T = TypeVar("T", bound="HardwareItem")



@_attrs_define
class HardwareItem:
    """ 
        Attributes:
            device_id (UUID):
            domain_id (UUID):
            hwid (str):
            product (str):
            rentable (bool):
            rental_id (None | UUID):
            type_ (DeviceType): What kind of hardware enrols. Kept small on purpose: contracts and the licences key off it.
     """

    device_id: UUID
    domain_id: UUID
    hwid: str
    product: str
    rentable: bool
    rental_id: None | UUID
    type_: DeviceType
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        device_id = str(self.device_id)

        domain_id = str(self.domain_id)

        hwid = self.hwid

        product = self.product

        rentable = self.rentable

        rental_id: None | str
        if isinstance(self.rental_id, UUID):
            rental_id = str(self.rental_id)
        else:
            rental_id = self.rental_id

        type_ = self.type_.value


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "device_id": device_id,
            "domain_id": domain_id,
            "hwid": hwid,
            "product": product,
            "rentable": rentable,
            "rental_id": rental_id,
            "type": type_,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        device_id = UUID(d.pop("device_id"))




        domain_id = UUID(d.pop("domain_id"))




        hwid = d.pop("hwid")

        product = d.pop("product")

        rentable = d.pop("rentable")

        def _parse_rental_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                rental_id_type_0 = UUID(data)



                return rental_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        rental_id = _parse_rental_id(d.pop("rental_id"))


        type_ = DeviceType(d.pop("type"))




        hardware_item = cls(
            device_id=device_id,
            domain_id=domain_id,
            hwid=hwid,
            product=product,
            rentable=rentable,
            rental_id=rental_id,
            type_=type_,
        )


        hardware_item.additional_properties = d
        return hardware_item

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
