from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from uuid import UUID






T = TypeVar("T", bound="ReplacementCreate")



@_attrs_define
class ReplacementCreate:
    """ 
        Attributes:
            device_id (UUID):
     """

    device_id: UUID





    def to_dict(self) -> dict[str, Any]:
        device_id = str(self.device_id)


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "device_id": device_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        device_id = UUID(d.pop("device_id"))




        replacement_create = cls(
            device_id=device_id,
        )

        return replacement_create

