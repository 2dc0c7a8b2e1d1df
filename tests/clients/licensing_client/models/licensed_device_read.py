from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="LicensedDeviceRead")



@_attrs_define
class LicensedDeviceRead:
    """ A device a bundle lets run (provisioning's `DeviceRead` is the provisioned device itself).

        Attributes:
            hwid (str):
            product (str):
     """

    hwid: str
    product: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        hwid = self.hwid

        product = self.product


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "hwid": hwid,
            "product": product,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        hwid = d.pop("hwid")

        product = d.pop("product")

        licensed_device_read = cls(
            hwid=hwid,
            product=product,
        )


        licensed_device_read.additional_properties = d
        return licensed_device_read

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
