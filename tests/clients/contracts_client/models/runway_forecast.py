from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="RunwayForecast")



@_attrs_define
class RunwayForecast:
    """ 
        Attributes:
            burn_rate_per_day (str):
            depletes_at (datetime.datetime | None):
            time_left_s (int | None):
     """

    burn_rate_per_day: str
    depletes_at: datetime.datetime | None
    time_left_s: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        burn_rate_per_day = self.burn_rate_per_day

        depletes_at: None | str
        if isinstance(self.depletes_at, datetime.datetime):
            depletes_at = self.depletes_at.isoformat()
        else:
            depletes_at = self.depletes_at

        time_left_s: int | None
        time_left_s = self.time_left_s


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "burn_rate_per_day": burn_rate_per_day,
            "depletes_at": depletes_at,
            "time_left_s": time_left_s,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        burn_rate_per_day = d.pop("burn_rate_per_day")

        def _parse_depletes_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                depletes_at_type_0 = datetime.datetime.fromisoformat(data)



                return depletes_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        depletes_at = _parse_depletes_at(d.pop("depletes_at"))


        def _parse_time_left_s(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        time_left_s = _parse_time_left_s(d.pop("time_left_s"))


        runway_forecast = cls(
            burn_rate_per_day=burn_rate_per_day,
            depletes_at=depletes_at,
            time_left_s=time_left_s,
        )


        runway_forecast.additional_properties = d
        return runway_forecast

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
