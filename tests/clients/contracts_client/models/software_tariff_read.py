from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.scheduled_software_tariff_read import ScheduledSoftwareTariffRead





T = TypeVar("T", bound="SoftwareTariffRead")



@_attrs_define
class SoftwareTariffRead:
    """ 
        Attributes:
            rate_per_day (str):
            type_ (str):
            updated_at (datetime.datetime):
            scheduled (list[ScheduledSoftwareTariffRead] | Unset):
     """

    rate_per_day: str
    type_: str
    updated_at: datetime.datetime
    scheduled: list[ScheduledSoftwareTariffRead] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.scheduled_software_tariff_read import ScheduledSoftwareTariffRead # noqa: PLC0415
        rate_per_day = self.rate_per_day

        type_ = self.type_

        updated_at = self.updated_at.isoformat()

        scheduled: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.scheduled, Unset):
            scheduled = []
            for scheduled_item_data in self.scheduled:
                scheduled_item = scheduled_item_data.to_dict()
                scheduled.append(scheduled_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "rate_per_day": rate_per_day,
            "type": type_,
            "updated_at": updated_at,
        })
        if scheduled is not UNSET:
            field_dict["scheduled"] = scheduled

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.scheduled_software_tariff_read import ScheduledSoftwareTariffRead # noqa: PLC0415
        d = dict(src_dict)
        rate_per_day = d.pop("rate_per_day")

        type_ = d.pop("type")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        _scheduled = d.pop("scheduled", UNSET)
        scheduled: list[ScheduledSoftwareTariffRead] | Unset = UNSET
        if _scheduled is not UNSET:
            scheduled = []
            for scheduled_item_data in _scheduled:
                scheduled_item = ScheduledSoftwareTariffRead.from_dict(scheduled_item_data)



                scheduled.append(scheduled_item)


        software_tariff_read = cls(
            rate_per_day=rate_per_day,
            type_=type_,
            updated_at=updated_at,
            scheduled=scheduled,
        )


        software_tariff_read.additional_properties = d
        return software_tariff_read

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
