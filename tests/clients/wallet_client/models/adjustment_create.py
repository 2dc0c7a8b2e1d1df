from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.adjustment_create_direction import AdjustmentCreateDirection






T = TypeVar("T", bound="AdjustmentCreate")



@_attrs_define
class AdjustmentCreate:
    """ 
        Attributes:
            amount (str):
            direction (AdjustmentCreateDirection):
            reason (str):
     """

    amount: str
    direction: AdjustmentCreateDirection
    reason: str





    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        direction = self.direction.value

        reason = self.reason


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "amount": amount,
            "direction": direction,
            "reason": reason,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        direction = AdjustmentCreateDirection(d.pop("direction"))




        reason = d.pop("reason")

        adjustment_create = cls(
            amount=amount,
            direction=direction,
            reason=reason,
        )

        return adjustment_create

