from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.licence_spec import LicenceSpec





T = TypeVar("T", bound="TariffWrite")



@_attrs_define
class TariffWrite:
    """ 
        Attributes:
            rate_per_day (str):
            licences (list[LicenceSpec] | Unset):
     """

    rate_per_day: str
    licences: list[LicenceSpec] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.licence_spec import LicenceSpec # noqa: PLC0415
        rate_per_day = self.rate_per_day

        licences: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.licences, Unset):
            licences = []
            for licences_item_data in self.licences:
                licences_item = licences_item_data.to_dict()
                licences.append(licences_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "rate_per_day": rate_per_day,
        })
        if licences is not UNSET:
            field_dict["licences"] = licences

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.licence_spec import LicenceSpec # noqa: PLC0415
        d = dict(src_dict)
        rate_per_day = d.pop("rate_per_day")

        _licences = d.pop("licences", UNSET)
        licences: list[LicenceSpec] | Unset = UNSET
        if _licences is not UNSET:
            licences = []
            for licences_item_data in _licences:
                licences_item = LicenceSpec.from_dict(licences_item_data)



                licences.append(licences_item)


        tariff_write = cls(
            rate_per_day=rate_per_day,
            licences=licences,
        )

        return tariff_write

