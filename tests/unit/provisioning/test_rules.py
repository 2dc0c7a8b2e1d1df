"""The pure provisioning rules: hardware ids, products, gateway keys, provisioning codes."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from provisioning import domain
from shared.refusals import Conflict, Unprocessable

HEX = "0123456789abcdefABCDEF"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def raw_ed25519_public_key() -> bytes:
    return (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- hardware ids -------------------------------------------------------------------------------


@given(st.text(alphabet=HEX, min_size=12, max_size=12))
def test_any_twelve_hex_digits_are_a_hardware_id_in_lower_case(raw: str) -> None:
    assert domain.parse_hwid(raw) == raw.lower()


@given(st.text(alphabet=HEX, min_size=12, max_size=12), st.sampled_from([":", "-"]))
def test_a_mac_notation_names_the_same_hardware_id(raw: str, separator: str) -> None:
    mac = separator.join(raw[i : i + 2] for i in range(0, 12, 2))
    assert domain.parse_hwid(mac) == raw.lower()


@given(st.text(max_size=40))
def test_anything_that_is_not_twelve_hex_digits_is_refused(raw: str) -> None:
    plain = re.fullmatch(r"[0-9a-fA-F]{12}", raw)
    mac = re.fullmatch(r"[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}", raw)
    if plain or mac:
        assert re.fullmatch(r"[0-9a-f]{12}", domain.parse_hwid(raw))
    else:
        with pytest.raises(domain.InvalidHardwareId):
            domain.parse_hwid(raw)


def test_a_unit_may_be_present_in_one_domain_only() -> None:
    here, elsewhere = uuid.uuid4(), uuid.uuid4()
    domain.ensure_not_in_other_domain("0004f2a1b2c3", here=here, found_in=None)
    domain.ensure_not_in_other_domain("0004f2a1b2c3", here=here, found_in=here)
    with pytest.raises(Conflict) as refused:
        domain.ensure_not_in_other_domain("0004f2a1b2c3", here=here, found_in=elsewhere)
    assert (refused.value.status, refused.value.code) == (409, "hwid_in_other_domain")


def test_a_gateway_and_a_device_are_named_in_canonical_form() -> None:
    key = b64url(raw_ed25519_public_key())
    gateway = domain.parse_gateway(hwid="00:04:F2:A1:B2:C3", product="GW4", public_key=key + "=")
    assert gateway == domain.GatewayDetails(hwid="0004f2a1b2c3", product="GW4", public_key=key)
    device = domain.parse_device(hwid="00-04-F2-A1-B2-C4", product="D717", device_type=domain.DeviceType.PHONE)
    assert device == domain.DeviceDetails(hwid="0004f2a1b2c4", product="D717", type=domain.DeviceType.PHONE)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "0004f2a1b2c",  # 11 digits
        "0004f2a1b2c3d",  # 13 digits
        "0004f2a1b2cg",  # not hex
        " 0004f2a1b2c3",  # stray whitespace
        "00:04:f2-a1:b2:c3",  # mixed separators
        "0004:f2a1:b2c3",  # not pairs
        "0x0004f2a1b2",
        "\uff10\uff10\uff10\uff14f2a1b2c3",  # full-width digits
    ],
)
def test_malformed_hardware_ids_are_refused_with_their_own_code(raw: str) -> None:
    with pytest.raises(domain.InvalidHardwareId) as refused:
        domain.parse_hwid(raw)
    assert refused.value.code == "invalid_hwid"
    assert refused.value.status == 422


@pytest.mark.parametrize("raw", ["D717", "gw-4.1_b", "A" * 64])
def test_products_are_path_safe_names(raw: str) -> None:
    assert domain.parse_product(raw) == raw


@pytest.mark.parametrize("raw", ["", "-D717", "D7 17", "D717/x", "A" * 65, "D717\n"])
def test_products_that_are_not_path_safe_are_refused(raw: str) -> None:
    with pytest.raises(domain.InvalidProduct):
        domain.parse_product(raw)


# --- gateway public keys ------------------------------------------------------------------------


def test_every_generated_ed25519_public_key_is_accepted_in_canonical_form() -> None:
    for _ in range(50):
        raw = raw_ed25519_public_key()
        assert domain.parse_gateway_public_key(b64url(raw)) == b64url(raw)
        padded = base64.urlsafe_b64encode(raw).decode()
        assert domain.parse_gateway_public_key(padded) == b64url(raw)


@given(st.binary(max_size=64).filter(lambda b: len(b) != 32))
def test_keys_of_any_length_but_32_bytes_are_refused(raw: bytes) -> None:
    with pytest.raises(domain.InvalidPublicKey):
        domain.parse_gateway_public_key(b64url(raw))


@given(st.binary(min_size=32, max_size=32))
def test_thirty_two_random_bytes_are_accepted_only_if_they_name_a_curve_point_of_large_order(raw: bytes) -> None:
    point = domain._decode_point(raw)
    usable = point is not None and not domain._has_small_order(point)
    if usable:
        assert domain.parse_gateway_public_key(b64url(raw)) == b64url(raw)
    else:
        with pytest.raises(domain.InvalidPublicKey):
            domain.parse_gateway_public_key(b64url(raw))


def test_about_half_of_all_32_byte_strings_are_no_curve_point() -> None:
    # Guards the decoder against accepting everything (which is what loading with `cryptography` alone does).
    samples = [bytes.fromhex(f"{i:064x}")[::-1] for i in range(2, 2000, 7)]
    refused = sum(domain._decode_point(raw) is None for raw in samples)
    assert 0.3 < refused / len(samples) < 0.7


# The small-order points libsodium refuses as public keys (orders 1, 2, 4 and 8).
SMALL_ORDER_POINTS = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
]


@pytest.mark.parametrize("point", SMALL_ORDER_POINTS)
def test_small_order_points_are_refused_as_keys(point: str) -> None:
    with pytest.raises(domain.InvalidPublicKey) as refused:
        domain.parse_gateway_public_key(b64url(bytes.fromhex(point)))
    assert "small-order" in refused.value.detail


def other_key_encodings() -> list[tuple[str, str]]:
    ed = Ed25519PrivateKey.generate().public_key()
    der = ed.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = ed.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    raw = raw_ed25519_public_key()
    return [
        ("spki der", b64url(der)),
        ("pem", pem),
        ("standard base64 alphabet", base64.b64encode(b"\xfb\xff" * 16).decode()),
        ("hex", raw.hex()),
        ("non-canonical trailing bits", b64url(raw)[:-1] + chr(ord(b64url(raw)[-1]) ^ 1)),
        ("y at or above p", b64url(b"\xee" + b"\xff" * 30 + b"\x7f")),
        ("empty", ""),
    ]


@pytest.mark.parametrize(("what", "encoded"), other_key_encodings())
def test_keys_that_are_not_raw_base64url_ed25519_are_refused(what: str, encoded: str) -> None:
    with pytest.raises(domain.InvalidPublicKey) as refused:
        domain.parse_gateway_public_key(encoded)
    assert refused.value.code == "invalid_public_key", what


# --- provisioning codes -------------------------------------------------------------------------


def test_a_generated_code_is_three_groups_of_four_unambiguous_symbols() -> None:
    for _ in range(200):
        code = domain.generate_code()
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", code), code
        assert not set(code) & set("ILOU")


def test_generated_codes_use_the_whole_alphabet_and_do_not_repeat() -> None:
    codes = [domain.generate_code() for _ in range(2000)]
    assert len(set(codes)) == len(codes)
    assert set("".join(codes)) - {"-"} == set(domain.CODE_ALPHABET)


@given(st.text(alphabet=domain.CODE_ALPHABET, min_size=12, max_size=12), st.data())
def test_a_code_typed_in_lower_case_with_spaces_or_without_hyphens_is_the_same_code(
    symbols: str, data: st.DataObject
) -> None:
    shown = f"{symbols[:4]}-{symbols[4:8]}-{symbols[8:]}"
    typed = data.draw(
        st.sampled_from([shown, shown.lower(), symbols, f"{symbols[:4]} {symbols[4:8]} {symbols[8:]}", f" {shown} "])
    )
    assert domain.normalise_code(typed) == symbols
    assert domain.hash_code(domain.normalise_code(typed) or "") == domain.hash_code(symbols)


def test_letters_that_look_like_digits_are_read_as_those_digits() -> None:
    assert domain.normalise_code("ILO0-1111-0000") == "110011110000"
    assert domain.normalise_code("il o0-1111-0000") == "110011110000"


@given(st.text(max_size=30))
def test_a_typed_code_normalises_to_twelve_alphabet_symbols_or_to_nothing(typed: str) -> None:
    symbols = domain.normalise_code(typed)
    if symbols is not None:
        assert len(symbols) == domain.CODE_LENGTH
        assert set(symbols) <= set(domain.CODE_ALPHABET)


@pytest.mark.parametrize("typed", ["", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKU1", "ABCD_EFGH_JKMN"])
def test_typed_codes_of_the_wrong_length_or_alphabet_are_no_code(typed: str) -> None:
    assert domain.normalise_code(typed) is None


def test_the_stored_hash_does_not_contain_the_code_and_the_hint_is_its_last_group() -> None:
    symbols = "7KQ4M2ZD9XHT"
    digest = domain.hash_code(symbols)
    assert len(digest) == 32
    assert symbols.encode() not in digest
    assert domain.code_hint(symbols) == "9XHT"


def state(**changes: object) -> domain.CodeState:
    values: dict[str, object] = {
        "expires_at": NOW + timedelta(hours=1),
        "max_uses": 1,
        "uses": 0,
        "revoked_at": None,
    }
    values.update(changes)
    return domain.CodeState(**values)  # type: ignore[arg-type]


def test_a_fresh_code_is_usable() -> None:
    domain.ensure_code_usable(state(), now=NOW)


def test_a_code_is_expired_from_its_expiry_instant_on() -> None:
    domain.ensure_code_usable(state(expires_at=NOW + timedelta(microseconds=1)), now=NOW)
    with pytest.raises(domain.CodeExpired) as refused:
        domain.ensure_code_usable(state(expires_at=NOW), now=NOW)
    assert (refused.value.status, refused.value.code) == (410, "provisioning_code_expired")


@given(st.integers(min_value=1, max_value=10_000), st.data())
def test_a_code_is_used_up_exactly_when_its_uses_reach_its_limit(max_uses: int, data: st.DataObject) -> None:
    uses = data.draw(st.integers(min_value=0, max_value=max_uses))
    if uses < max_uses:
        domain.ensure_code_usable(state(max_uses=max_uses, uses=uses), now=NOW)
    else:
        with pytest.raises(domain.CodeUsedUp) as refused:
            domain.ensure_code_usable(state(max_uses=max_uses, uses=uses), now=NOW)
        assert refused.value.code == "provisioning_code_used_up"


def test_a_revoked_code_says_revoked_even_when_also_expired_and_used_up() -> None:
    with pytest.raises(domain.CodeRevoked) as refused:
        domain.ensure_code_usable(state(revoked_at=NOW, expires_at=NOW, uses=1), now=NOW)
    assert refused.value.code == "provisioning_code_revoked"


def test_an_unknown_code_is_a_404_that_counts_as_a_refused_code() -> None:
    unknown = domain.CodeUnknown("no such provisioning code")
    assert isinstance(unknown, domain.CodeRefused)
    assert (unknown.status, unknown.code) == (404, "provisioning_code_unknown")


def test_codes_expire_after_24_hours_unless_asked_otherwise() -> None:
    assert domain.code_expiry(now=NOW, valid_for=None) == NOW + timedelta(hours=24)
    assert domain.code_expiry(now=NOW, valid_for=timedelta(minutes=5)) == NOW + timedelta(minutes=5)


@pytest.mark.parametrize("valid_for", [timedelta(0), timedelta(seconds=59), timedelta(days=31), timedelta(hours=-1)])
def test_code_lifetimes_outside_a_minute_to_thirty_days_are_refused(valid_for: timedelta) -> None:
    with pytest.raises(Unprocessable) as refused:
        domain.code_expiry(now=NOW, valid_for=valid_for)
    assert refused.value.code == "invalid_code_validity"
