from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="ProvisioningCodeCreate")



@_attrs_define
class ProvisioningCodeCreate:
    """ 
        Attributes:
            max_uses (int | Unset): devices this code may enrol Default: 1.
            valid_for_s (int | None | Unset): lifetime in seconds; 24 h when omitted
     """

    max_uses: int | Unset = 1
    valid_for_s: int | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        max_uses = self.max_uses

        valid_for_s: int | None | Unset
        if isinstance(self.valid_for_s, Unset):
            valid_for_s = UNSET
        else:
            valid_for_s = self.valid_for_s


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if max_uses is not UNSET:
            field_dict["max_uses"] = max_uses
        if valid_for_s is not UNSET:
            field_dict["valid_for_s"] = valid_for_s

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        max_uses = d.pop("max_uses", UNSET)

        def _parse_valid_for_s(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        valid_for_s = _parse_valid_for_s(d.pop("valid_for_s", UNSET))


        provisioning_code_create = cls(
            max_uses=max_uses,
            valid_for_s=valid_for_s,
        )

        return provisioning_code_create

