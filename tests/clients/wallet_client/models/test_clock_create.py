from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime






T = TypeVar("T", bound="TestClockCreate")



@_attrs_define
class TestClockCreate:
    """ 
        Attributes:
            frozen_time (datetime.datetime):
            name (str):
     """

    frozen_time: datetime.datetime
    name: str





    def to_dict(self) -> dict[str, Any]:
        frozen_time = self.frozen_time.isoformat()

        name = self.name


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "frozen_time": frozen_time,
            "name": name,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        frozen_time = datetime.datetime.fromisoformat(d.pop("frozen_time"))




        name = d.pop("name")

        test_clock_create = cls(
            frozen_time=frozen_time,
            name=name,
        )

        return test_clock_create

