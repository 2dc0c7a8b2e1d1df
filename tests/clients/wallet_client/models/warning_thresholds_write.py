from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast






T = TypeVar("T", bound="WarningThresholdsWrite")



@_attrs_define
class WarningThresholdsWrite:
    """ An account's own warning ladder, in seconds of time left; null returns to the deployment's ladder. The
    bounds are the deployment's (`warning_thresholds_out_of_bounds` otherwise).

        Attributes:
            thresholds_s (list[int] | None):
     """

    thresholds_s: list[int] | None





    def to_dict(self) -> dict[str, Any]:
        thresholds_s: list[int] | None
        if isinstance(self.thresholds_s, list):
            thresholds_s = self.thresholds_s


        else:
            thresholds_s = self.thresholds_s


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "thresholds_s": thresholds_s,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_thresholds_s(data: object) -> list[int] | None:
            if data is None:
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                thresholds_s_type_0 = cast(list[int], data)

                return thresholds_s_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int] | None, data)

        thresholds_s = _parse_thresholds_s(d.pop("thresholds_s"))


        warning_thresholds_write = cls(
            thresholds_s=thresholds_s,
        )

        return warning_thresholds_write

