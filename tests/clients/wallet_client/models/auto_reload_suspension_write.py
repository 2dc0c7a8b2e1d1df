from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="AutoReloadSuspensionWrite")



@_attrs_define
class AutoReloadSuspensionWrite:
    """ A partner stops (or allows again) the account's reloads; a due reload then fails with `AutoReloadFailed`.

        Attributes:
            suspended (bool):
     """

    suspended: bool





    def to_dict(self) -> dict[str, Any]:
        suspended = self.suspended


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "suspended": suspended,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        suspended = d.pop("suspended")

        auto_reload_suspension_write = cls(
            suspended=suspended,
        )

        return auto_reload_suspension_write

