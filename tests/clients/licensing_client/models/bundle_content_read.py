from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast
import datetime

if TYPE_CHECKING:
  from ..models.licence_read import LicenceRead
  from ..models.licensed_device_read import LicensedDeviceRead





T = TypeVar("T", bound="BundleContentRead")



@_attrs_define
class BundleContentRead:
    """ 
        Attributes:
            devices (list[LicensedDeviceRead]):
            expires_at (datetime.datetime | None):
            licences (list[LicenceRead]):
            stop_reason (None | str):
            warnings_at (list[datetime.datetime]):
     """

    devices: list[LicensedDeviceRead]
    expires_at: datetime.datetime | None
    licences: list[LicenceRead]
    stop_reason: None | str
    warnings_at: list[datetime.datetime]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.licence_read import LicenceRead # noqa: PLC0415
        from ..models.licensed_device_read import LicensedDeviceRead # noqa: PLC0415
        devices = []
        for devices_item_data in self.devices:
            devices_item = devices_item_data.to_dict()
            devices.append(devices_item)



        expires_at: None | str
        if isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        licences = []
        for licences_item_data in self.licences:
            licences_item = licences_item_data.to_dict()
            licences.append(licences_item)



        stop_reason: None | str
        stop_reason = self.stop_reason

        warnings_at = []
        for warnings_at_item_data in self.warnings_at:
            warnings_at_item = warnings_at_item_data.isoformat()
            warnings_at.append(warnings_at_item)




        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "devices": devices,
            "expires_at": expires_at,
            "licences": licences,
            "stop_reason": stop_reason,
            "warnings_at": warnings_at,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.licence_read import LicenceRead # noqa: PLC0415
        from ..models.licensed_device_read import LicensedDeviceRead # noqa: PLC0415
        d = dict(src_dict)
        devices = []
        _devices = d.pop("devices")
        for devices_item_data in (_devices):
            devices_item = LicensedDeviceRead.from_dict(devices_item_data)



            devices.append(devices_item)


        def _parse_expires_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = datetime.datetime.fromisoformat(data)



                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        expires_at = _parse_expires_at(d.pop("expires_at"))


        licences = []
        _licences = d.pop("licences")
        for licences_item_data in (_licences):
            licences_item = LicenceRead.from_dict(licences_item_data)



            licences.append(licences_item)


        def _parse_stop_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        stop_reason = _parse_stop_reason(d.pop("stop_reason"))


        warnings_at = []
        _warnings_at = d.pop("warnings_at")
        for warnings_at_item_data in (_warnings_at):
            warnings_at_item = datetime.datetime.fromisoformat(warnings_at_item_data)



            warnings_at.append(warnings_at_item)


        bundle_content_read = cls(
            devices=devices,
            expires_at=expires_at,
            licences=licences,
            stop_reason=stop_reason,
            warnings_at=warnings_at,
        )


        bundle_content_read.additional_properties = d
        return bundle_content_read

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
