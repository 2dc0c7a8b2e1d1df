from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="PartnerAssignmentWrite")



@_attrs_define
class PartnerAssignmentWrite:
    """ The partner (its token's subject) the account is assigned to.

        Attributes:
            partner (str):
     """

    partner: str





    def to_dict(self) -> dict[str, Any]:
        partner = self.partner


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "partner": partner,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        partner = d.pop("partner")

        partner_assignment_write = cls(
            partner=partner,
        )

        return partner_assignment_write

