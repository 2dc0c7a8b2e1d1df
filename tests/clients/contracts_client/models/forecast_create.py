from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID

if TYPE_CHECKING:
  from ..models.replacement_plan import ReplacementPlan
  from ..models.software_plan import SoftwarePlan





T = TypeVar("T", bound="ForecastCreate")



@_attrs_define
class ForecastCreate:
    """ A change not made: devices to activate, rentals to end, RMAs, software counts. Nothing is committed.

        Attributes:
            activate (list[UUID] | Unset):
            deactivate (list[UUID] | Unset):
            replace (list[ReplacementPlan] | Unset):
            software (list[SoftwarePlan] | Unset):
     """

    activate: list[UUID] | Unset = UNSET
    deactivate: list[UUID] | Unset = UNSET
    replace: list[ReplacementPlan] | Unset = UNSET
    software: list[SoftwarePlan] | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.replacement_plan import ReplacementPlan # noqa: PLC0415
        from ..models.software_plan import SoftwarePlan # noqa: PLC0415
        activate: list[str] | Unset = UNSET
        if not isinstance(self.activate, Unset):
            activate = []
            for activate_item_data in self.activate:
                activate_item = str(activate_item_data)
                activate.append(activate_item)



        deactivate: list[str] | Unset = UNSET
        if not isinstance(self.deactivate, Unset):
            deactivate = []
            for deactivate_item_data in self.deactivate:
                deactivate_item = str(deactivate_item_data)
                deactivate.append(deactivate_item)



        replace: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.replace, Unset):
            replace = []
            for replace_item_data in self.replace:
                replace_item = replace_item_data.to_dict()
                replace.append(replace_item)



        software: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.software, Unset):
            software = []
            for software_item_data in self.software:
                software_item = software_item_data.to_dict()
                software.append(software_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if activate is not UNSET:
            field_dict["activate"] = activate
        if deactivate is not UNSET:
            field_dict["deactivate"] = deactivate
        if replace is not UNSET:
            field_dict["replace"] = replace
        if software is not UNSET:
            field_dict["software"] = software

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.replacement_plan import ReplacementPlan # noqa: PLC0415
        from ..models.software_plan import SoftwarePlan # noqa: PLC0415
        d = dict(src_dict)
        _activate = d.pop("activate", UNSET)
        activate: list[UUID] | Unset = UNSET
        if _activate is not UNSET:
            activate = []
            for activate_item_data in _activate:
                activate_item = UUID(activate_item_data)



                activate.append(activate_item)


        _deactivate = d.pop("deactivate", UNSET)
        deactivate: list[UUID] | Unset = UNSET
        if _deactivate is not UNSET:
            deactivate = []
            for deactivate_item_data in _deactivate:
                deactivate_item = UUID(deactivate_item_data)



                deactivate.append(deactivate_item)


        _replace = d.pop("replace", UNSET)
        replace: list[ReplacementPlan] | Unset = UNSET
        if _replace is not UNSET:
            replace = []
            for replace_item_data in _replace:
                replace_item = ReplacementPlan.from_dict(replace_item_data)



                replace.append(replace_item)


        _software = d.pop("software", UNSET)
        software: list[SoftwarePlan] | Unset = UNSET
        if _software is not UNSET:
            software = []
            for software_item_data in _software:
                software_item = SoftwarePlan.from_dict(software_item_data)



                software.append(software_item)


        forecast_create = cls(
            activate=activate,
            deactivate=deactivate,
            replace=replace,
            software=software,
        )

        return forecast_create

