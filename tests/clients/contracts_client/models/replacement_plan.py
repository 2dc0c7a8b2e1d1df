from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from uuid import UUID






T = TypeVar("T", bound="ReplacementPlan")



@_attrs_define
class ReplacementPlan:
    """ 
        Attributes:
            device_id (UUID):
            rental_id (UUID):
     """

    device_id: UUID
    rental_id: UUID





    def to_dict(self) -> dict[str, Any]:
        device_id = str(self.device_id)

        rental_id = str(self.rental_id)


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "device_id": device_id,
            "rental_id": rental_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        device_id = UUID(d.pop("device_id"))




        rental_id = UUID(d.pop("rental_id"))




        replacement_plan = cls(
            device_id=device_id,
            rental_id=rental_id,
        )

        return replacement_plan

