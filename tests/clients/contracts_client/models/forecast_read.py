from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.runway_forecast import RunwayForecast





T = TypeVar("T", bound="ForecastRead")



@_attrs_define
class ForecastRead:
    """ 
        Attributes:
            after (RunwayForecast):
            at (datetime.datetime):
            now (RunwayForecast):
     """

    after: RunwayForecast
    at: datetime.datetime
    now: RunwayForecast
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.runway_forecast import RunwayForecast # noqa: PLC0415
        after = self.after.to_dict()

        at = self.at.isoformat()

        now = self.now.to_dict()


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "after": after,
            "at": at,
            "now": now,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.runway_forecast import RunwayForecast # noqa: PLC0415
        d = dict(src_dict)
        after = RunwayForecast.from_dict(d.pop("after"))




        at = datetime.datetime.fromisoformat(d.pop("at"))




        now = RunwayForecast.from_dict(d.pop("now"))




        forecast_read = cls(
            after=after,
            at=at,
            now=now,
        )


        forecast_read.additional_properties = d
        return forecast_read

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
