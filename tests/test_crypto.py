"""vault.crypto against published vectors, plus round-trip and tamper properties."""

from __future__ import annotations

import os
import pickle
import threading
from pathlib import Path

import cryptography_vectors
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault import crypto
from vault.crypto import KdfParams, Passphrase, SecretKey, SigningKey
from vault.errors import IntegrityError, InvalidInputError

VECTORS = Path(cryptography_vectors.__file__).parent


def _nist_blocks(path: Path) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("Count ="):
            current = {}
            blocks.append(current)
        elif line == "FAIL":
            current["FAIL"] = "1"
        elif " = " in line or line.endswith(" ="):
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return blocks


def _gcm_vectors(name: str) -> list[dict[str, str]]:
    # Our AEAD uses 96-bit nonces and 128-bit tags only.
    return [
        b
        for b in _nist_blocks(VECTORS / "ciphers" / "AES" / "GCM" / name)
        if len(b.get("IV", "")) == 24 and len(b.get("Tag", "")) == 32
    ]


def test_aes_gcm_encrypt_matches_nist_vectors() -> None:
    vectors = _gcm_vectors("gcmEncryptExtIV256.rsp")
    assert len(vectors) > 100
    for v in vectors:
        out = crypto._aead_encrypt(
            bytes.fromhex(v["Key"]),
            bytes.fromhex(v["IV"]),
            bytes.fromhex(v["PT"]),
            bytes.fromhex(v["AAD"]),
        )
        assert out == bytes.fromhex(v["CT"] + v["Tag"])


def test_aes_gcm_decrypt_matches_nist_vectors_including_failures() -> None:
    vectors = _gcm_vectors("gcmDecrypt256.rsp")
    failures = 0
    for v in vectors:
        args = (
            bytes.fromhex(v["Key"]),
            bytes.fromhex(v["IV"]),
            bytes.fromhex(v["CT"] + v["Tag"]),
            bytes.fromhex(v["AAD"]),
        )
        if "FAIL" in v:
            failures += 1
            with pytest.raises(IntegrityError):
                crypto._aead_decrypt(*args, what="vector")
        else:
            assert crypto._aead_decrypt(*args, what="vector") == bytes.fromhex(v["PT"])
    assert failures > 50


def test_hkdf_matches_rfc5869_vectors() -> None:
    text = (VECTORS / "KDF" / "rfc-5869-HKDF-SHA256.txt").read_text()
    cases = list(text.split("COUNT = ")[1:])
    assert len(cases) == 3
    for case in cases:
        fields = {}
        for line in case.splitlines():
            if "=" in line:
                k, _, val = line.partition("=")
                fields[k.strip()] = val.strip()
        salt = bytes.fromhex(fields["salt"]) or None
        out = crypto._hkdf(
            bytes.fromhex(fields["IKM"]), salt, bytes.fromhex(fields["info"]), int(fields["L"])
        )
        assert out == bytes.fromhex(fields["OKM"])


def test_ed25519_matches_rfc8032_vectors() -> None:
    lines = (VECTORS / "asymmetric" / "Ed25519" / "sign.input").read_text().splitlines()
    for line in lines[:64]:
        seed_pub, pub, msg, sig, _ = line.split(":")
        key = SigningKey.from_seed(bytes.fromhex(seed_pub[:64]))
        assert key.public_bytes() == bytes.fromhex(pub)
        message = bytes.fromhex(msg)
        assert key.sign(message) == bytes.fromhex(sig[:128])
        crypto.verify_signature(bytes.fromhex(pub), bytes.fromhex(sig[:128]), message, what="v")
        with pytest.raises(IntegrityError):
            crypto.verify_signature(
                bytes.fromhex(pub), bytes.fromhex(sig[:128]), message + b"x", what="v"
            )


def test_known_answer_for_sealed_format() -> None:
    key = SecretKey(bytes(range(32)))
    blob = crypto._seal_from_parts(key, bytes(12), b"hello", ("vault", "record", 1), 7)
    assert blob[:2] == b"EV"
    assert crypto.blob_key_version(blob) == 7
    assert crypto.open_sealed(key, blob, ("vault", "record", 1)) == b"hello"
    # The header is authenticated: the claimed key version cannot be changed.
    forged = blob[:4] + (8).to_bytes(4, "big") + blob[8:]
    with pytest.raises(IntegrityError):
        crypto.open_sealed(key, forged, ("vault", "record", 1))


@settings(max_examples=200, deadline=None)
@given(
    plaintext=st.binary(max_size=2048),
    context=st.lists(
        st.one_of(st.text(max_size=20), st.integers(0, 2**31), st.binary(max_size=8)), max_size=5
    ),
    version=st.integers(0, 2**32 - 1),
)
def test_seal_round_trip(plaintext: bytes, context: list[str | int | bytes], version: int) -> None:
    key = crypto.random_key()
    blob = crypto.seal(key, plaintext, context, key_version=version)
    assert crypto.open_sealed(key, blob, context) == plaintext
    assert crypto.blob_key_version(blob) == version


@settings(max_examples=200, deadline=None)
@given(plaintext=st.binary(min_size=0, max_size=256), data=st.data())
def test_any_bit_flip_is_detected(plaintext: bytes, data: st.DataObject) -> None:
    key = crypto.random_key()
    blob = bytearray(crypto.seal(key, plaintext, ("ctx",)))
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(IntegrityError):
        crypto.open_sealed(key, bytes(blob), ("ctx",))


@settings(max_examples=100, deadline=None)
@given(a=st.lists(st.text(max_size=5), max_size=4), b=st.lists(st.text(max_size=5), max_size=4))
def test_context_binding_is_unambiguous(a: list[str], b: list[str]) -> None:
    key = crypto.random_key()
    blob = crypto.seal(key, b"x", a)
    if a == b:
        assert crypto.open_sealed(key, blob, b) == b"x"
    else:
        with pytest.raises(IntegrityError):
            crypto.open_sealed(key, blob, b)


def test_wrong_key_and_truncation_fail_opaquely() -> None:
    key = crypto.random_key()
    blob = crypto.seal(key, b"secret", ("c",))
    for bad_key, bad_blob in (
        (crypto.random_key(), blob),
        (key, blob[:-1]),
        (key, blob[:10]),
        (key, b""),
        (key, b"XX" + blob[2:]),
    ):
        with pytest.raises(IntegrityError) as err:
            crypto.open_sealed(bad_key, bad_blob, ("c",), what="record T-1")
        assert str(err.value) == "integrity check failed for record T-1"


def test_wrap_and_unwrap_key_bound_to_context() -> None:
    kek, dek = crypto.random_key(), crypto.random_key()
    wrapped = crypto.wrap_key(kek, dek, ("rec", 1), key_version=3)
    assert crypto.unwrap_key(kek, wrapped, ("rec", 1)) == dek
    with pytest.raises(IntegrityError):
        crypto.unwrap_key(kek, wrapped, ("rec", 2))
    # A wrapped key is never accepted as a sealed value of another purpose.
    with pytest.raises(IntegrityError):
        crypto.open_sealed(kek, wrapped, ("rec", 1))


def test_subkeys_are_independent_per_purpose_and_salt() -> None:
    root = crypto.random_key()
    a = crypto.derive_subkey(root, "a", salt=b"v1")
    assert a == crypto.derive_subkey(root, "a", salt=b"v1")
    assert a != crypto.derive_subkey(root, "b", salt=b"v1")
    assert a != crypto.derive_subkey(root, "a", salt=b"v2")


def test_blind_index_is_keyed() -> None:
    k1, k2 = crypto.random_key(), crypto.random_key()
    assert crypto.blind_index(k1, "phone", "123") == crypto.blind_index(k1, "phone", "123")
    assert crypto.blind_index(k1, "phone", "123") != crypto.blind_index(k2, "phone", "123")
    assert crypto.blind_index(k1, "phone", "123") != crypto.blind_index(k1, "email", "123")


def test_argon2id_uses_stored_parameters() -> None:
    params = KdfParams(memory_kib=1024, time_cost=1, parallelism=1)
    restored = KdfParams.from_dict(params.to_dict())
    assert restored == params
    p = Passphrase("pass")
    assert crypto.derive_passphrase_key(p, params) == crypto.derive_passphrase_key(p, restored)
    assert crypto.derive_passphrase_key(p, params) != crypto.derive_passphrase_key(
        p, params.with_new_salt()
    )
    assert crypto.derive_passphrase_key(p, params) != crypto.derive_passphrase_key(
        Passphrase("pass2"), params
    )


def test_default_kdf_parameters_meet_rfc9106_second_recommendation() -> None:
    p = KdfParams()
    assert p.memory_kib >= 64 * 1024
    assert p.time_cost >= 3
    assert p.parallelism == 4
    assert len(p.salt) == 16


@pytest.mark.parametrize(
    "bad",
    [
        {"memory_kib": 1024, "time_cost": 0, "parallelism": 1},
        {"memory_kib": 4, "time_cost": 1, "parallelism": 1},
        {"memory_kib": 1024, "time_cost": 1, "parallelism": 1, "salt": b"short"},
    ],
)
def test_kdf_parameters_out_of_range_are_refused(bad: dict[str, int | bytes]) -> None:
    with pytest.raises(InvalidInputError):
        KdfParams(**bad)  # type: ignore[arg-type]  # the table mixes int and bytes values


def test_secrets_hide_their_repr_and_refuse_pickling() -> None:
    raw = bytes(range(32))
    key = SecretKey(raw)
    signing = SigningKey.generate()
    phrase = Passphrase("my very secret phrase")
    for obj in (key, signing, phrase):
        text = repr(obj) + str(obj) + f"{obj}" + repr([obj]) + repr({"k": obj})
        assert "[secure]" in text
        assert raw.hex() not in text
        assert "my very secret phrase" not in text
        assert signing.seed().hex() not in text
        with pytest.raises(TypeError):
            pickle.dumps(obj)


def test_associated_data_encoding_is_fixed() -> None:
    # Every stored blob is bound to these bytes: a change here makes every vault
    # unreadable, so the encoding is pinned (length with type byte, type, bytes).
    from vault.crypto import Context

    encoded = Context.of("v1", "record", 7, b"\x00\xff", "é")
    assert bytes(encoded) == (
        b"\x00\x00\x00\x03sv1"
        b"\x00\x00\x00\x07srecord"
        b"\x00\x00\x00\x02i7"
        b"\x00\x00\x00\x03b\x00\xff"
        b"\x00\x00\x00\x03s\xc3\xa9"
    )
    assert Context.of("v1", "record").extend(7, b"\x00\xff", "é") == encoded
    assert Context.of("ab", "c") != Context.of("a", "bc")
    assert Context.of(1) != Context.of("1")
    assert Context.of(Context.of("x")) == Context.of(b"\x00\x00\x00\x02sx")
    for bad in (True, 1.5, None):
        with pytest.raises(TypeError):
            Context.of(bad)  # type: ignore[arg-type]


def test_random_bytes_are_handed_out_once_across_threads() -> None:
    # Keys, nonces and identifiers are cut from shared blocks: no two share bytes.
    from vault.crypto import _RANDOM

    taken: list[list[bytes]] = [[] for _ in range(8)]

    def draw(out: list[bytes]) -> None:
        for _ in range(2_000):
            out.append(_RANDOM.take(12))

    threads = [threading.Thread(target=draw, args=(out,)) for out in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [b for out in taken for b in out]
    assert all(len(b) == 12 for b in every)
    assert len(set(every)) == len(every)
    # Drawn over many blocks, the bytes are not a block repeated.
    assert len(set(b"".join(every))) == 256


def test_a_forked_child_never_hands_out_its_parents_random_bytes() -> None:
    from vault.crypto import _RANDOM

    _RANDOM.take(12)  # the parent holds a part-used block
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read)
            os.write(write, b"".join(_RANDOM.take(12) for _ in range(300)))
        finally:
            os._exit(0)
    os.close(write)
    child = b""
    while chunk := os.read(read, 65536):
        child += chunk
    os.close(read)
    os.waitpid(pid, 0)
    parent = b"".join(_RANDOM.take(12) for _ in range(300))
    assert len(child) == len(parent) == 3600
    child_nonces = {child[i : i + 12] for i in range(0, 3600, 12)}
    parent_nonces = {parent[i : i + 12] for i in range(0, 3600, 12)}
    assert child_nonces.isdisjoint(parent_nonces)
    # Keys made in both after the fork differ too.
    assert crypto.random_key() != crypto.random_key()
