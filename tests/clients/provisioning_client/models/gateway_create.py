from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="GatewayCreate")



@_attrs_define
class GatewayCreate:
    """ 
        Attributes:
            hwid (str):
            product (str):
            public_key (str): base64url of the raw 32-byte Ed25519 public key
     """

    hwid: str
    product: str
    public_key: str





    def to_dict(self) -> dict[str, Any]:
        hwid = self.hwid

        product = self.product

        public_key = self.public_key


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "hwid": hwid,
            "product": product,
            "public_key": public_key,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        hwid = d.pop("hwid")

        product = d.pop("product")

        public_key = d.pop("public_key")

        gateway_create = cls(
            hwid=hwid,
            product=product,
            public_key=public_key,
        )

        return gateway_create

