from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="ScheduledRateRead")



@_attrs_define
class ScheduledRateRead:
    """ 
        Attributes:
            burn_rate_per_day (str):
            effective_at (datetime.datetime):
     """

    burn_rate_per_day: str
    effective_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        burn_rate_per_day = self.burn_rate_per_day

        effective_at = self.effective_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "burn_rate_per_day": burn_rate_per_day,
            "effective_at": effective_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        burn_rate_per_day = d.pop("burn_rate_per_day")

        effective_at = datetime.datetime.fromisoformat(d.pop("effective_at"))




        scheduled_rate_read = cls(
            burn_rate_per_day=burn_rate_per_day,
            effective_at=effective_at,
        )


        scheduled_rate_read.additional_properties = d
        return scheduled_rate_read

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
