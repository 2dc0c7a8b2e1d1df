from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="AutoReloadWrite")



@_attrs_define
class AutoReloadWrite:
    """ Auto-iSC: when the paid time left falls to `threshold_days`, `amount` iSC is loaded at once (and again while
    the time left is still under it), at most `monthly_cap` iSC per calendar month (UTC).

        Attributes:
            amount (str):
            monthly_cap (str):
            threshold_days (int):
            enabled (bool | Unset):  Default: True.
     """

    amount: str
    monthly_cap: str
    threshold_days: int
    enabled: bool | Unset = True





    def to_dict(self) -> dict[str, Any]:
        amount = self.amount

        monthly_cap = self.monthly_cap

        threshold_days = self.threshold_days

        enabled = self.enabled


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "amount": amount,
            "monthly_cap": monthly_cap,
            "threshold_days": threshold_days,
        })
        if enabled is not UNSET:
            field_dict["enabled"] = enabled

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        amount = d.pop("amount")

        monthly_cap = d.pop("monthly_cap")

        threshold_days = d.pop("threshold_days")

        enabled = d.pop("enabled", UNSET)

        auto_reload_write = cls(
            amount=amount,
            monthly_cap=monthly_cap,
            threshold_days=threshold_days,
            enabled=enabled,
        )

        return auto_reload_write

