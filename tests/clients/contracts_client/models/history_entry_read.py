from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.history_entry_type import HistoryEntryType
from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.history_data import HistoryData





T = TypeVar("T", bound="HistoryEntryRead")



@_attrs_define
class HistoryEntryRead:
    """ 
        Attributes:
            at (datetime.datetime):
            data (HistoryData): The facts of a history line: for an event's line the event's payload (`docs/asyncapi.json`,
                by `type`);
                for a domain link its `domain_id` and `name`; for a tariff change the new tariff. The members named here are
                those most lines carry; every other member of the payload is kept as it is.
            summary (str):
            type_ (HistoryEntryType): What a history line reports: an event this service published, a wallet event of the
                account, or a change
                that is no event. `tests/unit/contracts/test_history_entry_types.py` checks that the set is complete.
     """

    at: datetime.datetime
    data: HistoryData
    summary: str
    type_: HistoryEntryType
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.history_data import HistoryData # noqa: PLC0415
        at = self.at.isoformat()

        data = self.data.to_dict()

        summary = self.summary

        type_ = self.type_.value


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "at": at,
            "data": data,
            "summary": summary,
            "type": type_,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.history_data import HistoryData # noqa: PLC0415
        d = dict(src_dict)
        at = datetime.datetime.fromisoformat(d.pop("at"))




        data = HistoryData.from_dict(d.pop("data"))




        summary = d.pop("summary")

        type_ = HistoryEntryType(d.pop("type"))




        history_entry_read = cls(
            at=at,
            data=data,
            summary=summary,
            type_=type_,
        )


        history_entry_read.additional_properties = d
        return history_entry_read

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
