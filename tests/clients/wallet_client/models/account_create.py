from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID






T = TypeVar("T", bound="AccountCreate")



@_attrs_define
class AccountCreate:
    """ 
        Attributes:
            name (str):
            test_clock_id (None | Unset | UUID):
     """

    name: str
    test_clock_id: None | Unset | UUID = UNSET





    def to_dict(self) -> dict[str, Any]:
        name = self.name

        test_clock_id: None | str | Unset
        if isinstance(self.test_clock_id, Unset):
            test_clock_id = UNSET
        elif isinstance(self.test_clock_id, UUID):
            test_clock_id = str(self.test_clock_id)
        else:
            test_clock_id = self.test_clock_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "name": name,
        })
        if test_clock_id is not UNSET:
            field_dict["test_clock_id"] = test_clock_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        def _parse_test_clock_id(data: object) -> None | Unset | UUID:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                test_clock_id_type_0 = UUID(data)



                return test_clock_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UUID, data)

        test_clock_id = _parse_test_clock_id(d.pop("test_clock_id", UNSET))


        account_create = cls(
            name=name,
            test_clock_id=test_clock_id,
        )

        return account_create

