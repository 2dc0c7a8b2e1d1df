from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from uuid import UUID






T = TypeVar("T", bound="DomainLinkCreate")



@_attrs_define
class DomainLinkCreate:
    """ 
        Attributes:
            domain_id (UUID):
     """

    domain_id: UUID





    def to_dict(self) -> dict[str, Any]:
        domain_id = str(self.domain_id)


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "domain_id": domain_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        domain_id = UUID(d.pop("domain_id"))




        domain_link_create = cls(
            domain_id=domain_id,
        )

        return domain_link_create

