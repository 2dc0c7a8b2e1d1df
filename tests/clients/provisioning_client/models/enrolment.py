from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.device_type import DeviceType






T = TypeVar("T", bound="Enrolment")



@_attrs_define
class Enrolment:
    """ 
        Attributes:
            code (str):
            hwid (str):
            product (str):
            type_ (DeviceType): What kind of hardware enrols. Kept small on purpose: contracts and the licences key off it.
     """

    code: str
    hwid: str
    product: str
    type_: DeviceType





    def to_dict(self) -> dict[str, Any]:
        code = self.code

        hwid = self.hwid

        product = self.product

        type_ = self.type_.value


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "code": code,
            "hwid": hwid,
            "product": product,
            "type": type_,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        code = d.pop("code")

        hwid = d.pop("hwid")

        product = d.pop("product")

        type_ = DeviceType(d.pop("type"))




        enrolment = cls(
            code=code,
            hwid=hwid,
            product=product,
            type_=type_,
        )

        return enrolment

