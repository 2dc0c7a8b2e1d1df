from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
from uuid import UUID

if TYPE_CHECKING:
  from ..models.bundle_content_read import BundleContentRead
  from ..models.gateway_licence_read import GatewayLicenceRead





T = TypeVar("T", bound="DomainLicencesRead")



@_attrs_define
class DomainLicencesRead:
    """ 
        Attributes:
            account_id (UUID):
            bundle (BundleContentRead):
            domain_id (UUID):
            gateways (list[GatewayLicenceRead]):
     """

    account_id: UUID
    bundle: BundleContentRead
    domain_id: UUID
    gateways: list[GatewayLicenceRead]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.bundle_content_read import BundleContentRead # noqa: PLC0415
        from ..models.gateway_licence_read import GatewayLicenceRead # noqa: PLC0415
        account_id = str(self.account_id)

        bundle = self.bundle.to_dict()

        domain_id = str(self.domain_id)

        gateways = []
        for gateways_item_data in self.gateways:
            gateways_item = gateways_item_data.to_dict()
            gateways.append(gateways_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "account_id": account_id,
            "bundle": bundle,
            "domain_id": domain_id,
            "gateways": gateways,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bundle_content_read import BundleContentRead # noqa: PLC0415
        from ..models.gateway_licence_read import GatewayLicenceRead # noqa: PLC0415
        d = dict(src_dict)
        account_id = UUID(d.pop("account_id"))




        bundle = BundleContentRead.from_dict(d.pop("bundle"))




        domain_id = UUID(d.pop("domain_id"))




        gateways = []
        _gateways = d.pop("gateways")
        for gateways_item_data in (_gateways):
            gateways_item = GatewayLicenceRead.from_dict(gateways_item_data)



            gateways.append(gateways_item)


        domain_licences_read = cls(
            account_id=account_id,
            bundle=bundle,
            domain_id=domain_id,
            gateways=gateways,
        )


        domain_licences_read.additional_properties = d
        return domain_licences_read

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
