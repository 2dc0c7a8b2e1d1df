from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="ScheduledSoftwareTariffRead")



@_attrs_define
class ScheduledSoftwareTariffRead:
    """ 
        Attributes:
            effective_at (datetime.datetime):
            rate_per_day (str):
            scheduled_at (datetime.datetime):
     """

    effective_at: datetime.datetime
    rate_per_day: str
    scheduled_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        effective_at = self.effective_at.isoformat()

        rate_per_day = self.rate_per_day

        scheduled_at = self.scheduled_at.isoformat()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "effective_at": effective_at,
            "rate_per_day": rate_per_day,
            "scheduled_at": scheduled_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        effective_at = datetime.datetime.fromisoformat(d.pop("effective_at"))




        rate_per_day = d.pop("rate_per_day")

        scheduled_at = datetime.datetime.fromisoformat(d.pop("scheduled_at"))




        scheduled_software_tariff_read = cls(
            effective_at=effective_at,
            rate_per_day=rate_per_day,
            scheduled_at=scheduled_at,
        )


        scheduled_software_tariff_read.additional_properties = d
        return scheduled_software_tariff_read

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
