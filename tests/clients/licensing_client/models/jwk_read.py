from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import Literal, cast






T = TypeVar("T", bound="JwkRead")



@_attrs_define
class JwkRead:
    """ A public Ed25519 key that signs bundles (RFC 8037): a bundle's `kid` names one of these.

        Attributes:
            crv (Literal['Ed25519']):
            kid (str):
            kty (Literal['OKP']):
            x (str):
            alg (Literal['EdDSA'] | Unset):  Default: 'EdDSA'.
            use (Literal['sig'] | Unset):  Default: 'sig'.
     """

    crv: Literal['Ed25519']
    kid: str
    kty: Literal['OKP']
    x: str
    alg: Literal['EdDSA'] | Unset = 'EdDSA'
    use: Literal['sig'] | Unset = 'sig'
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        crv = self.crv

        kid = self.kid

        kty = self.kty

        x = self.x

        alg = self.alg

        use = self.use


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "crv": crv,
            "kid": kid,
            "kty": kty,
            "x": x,
        })
        if alg is not UNSET:
            field_dict["alg"] = alg
        if use is not UNSET:
            field_dict["use"] = use

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        crv = cast(Literal['Ed25519'] , d.pop("crv"))
        if crv != 'Ed25519':
            raise ValueError(f"crv must match const 'Ed25519', got '{crv}'")

        kid = d.pop("kid")

        kty = cast(Literal['OKP'] , d.pop("kty"))
        if kty != 'OKP':
            raise ValueError(f"kty must match const 'OKP', got '{kty}'")

        x = d.pop("x")

        alg = cast(Literal['EdDSA'] | Unset , d.pop("alg", UNSET))
        if alg != 'EdDSA'and not isinstance(alg, Unset):
            raise ValueError(f"alg must match const 'EdDSA', got '{alg}'")

        use = cast(Literal['sig'] | Unset , d.pop("use", UNSET))
        if use != 'sig'and not isinstance(use, Unset):
            raise ValueError(f"use must match const 'sig', got '{use}'")

        jwk_read = cls(
            crv=crv,
            kid=kid,
            kty=kty,
            x=x,
            alg=alg,
            use=use,
        )


        jwk_read.additional_properties = d
        return jwk_read

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
