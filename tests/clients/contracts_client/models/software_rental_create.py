from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from uuid import UUID






T = TypeVar("T", bound="SoftwareRentalCreate")



@_attrs_define
class SoftwareRentalCreate:
    """ 
        Attributes:
            count (int):
            domain_id (UUID):
            type_ (str):
     """

    count: int
    domain_id: UUID
    type_: str





    def to_dict(self) -> dict[str, Any]:
        count = self.count

        domain_id = str(self.domain_id)

        type_ = self.type_


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "count": count,
            "domain_id": domain_id,
            "type": type_,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        count = d.pop("count")

        domain_id = UUID(d.pop("domain_id"))




        type_ = d.pop("type")

        software_rental_create = cls(
            count=count,
            domain_id=domain_id,
            type_=type_,
        )

        return software_rental_create

