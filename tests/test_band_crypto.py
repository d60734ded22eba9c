"""Band-side cryptography (protocol.sha512, .ed25519, .x25519) under MicroPython and CPython."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from protocol import gen_ed25519_table
from protocol.x25519 import ed25519_public_to_x25519

HERE = Path(__file__).resolve().parent
ORDER = 2**252 + 27742317777372353535851937790883648493  # L, the order of the base point

# Imports and hex helpers, run once per request in either interpreter.
SETUP = """
import binascii
from protocol import ed25519, x25519
from protocol.sha512 import sha512
def hx(b):
    return binascii.hexlify(b).decode()
def uh(s):
    return binascii.unhexlify(s)
"""


class Runtime:
    """Evaluates an expression with the band modules under CPython or MicroPython."""

    def __init__(self, name: str, mpy: Any = None) -> None:
        self.name = name
        self._mpy = mpy

    def eval(self, expr: str, setup: str = "") -> Any:
        if self._mpy is not None:
            return self._mpy.eval_json(expr, SETUP + setup)
        ns: dict[str, Any] = {}
        exec(SETUP + setup, ns)
        return json.loads(json.dumps(eval(expr, ns)))


@pytest.fixture(params=["cpython", "micropython"])
def rt(request: pytest.FixtureRequest) -> Runtime:
    if request.param == "micropython":
        return Runtime("micropython", request.getfixturevalue("mpy"))
    return Runtime("cpython")


def raw_public(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


# RFC 8032 section 7.1: (secret key, public key, message, signature), hex.
RFC8032 = {
    "test1": (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    "test2": (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    "test3": (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    "test1024": (
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        (
            "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12"
            "ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe57"
            "38829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338b"
            "bd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
            "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e06203b33890cc9b8"
            "32f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10"
            "3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53"
            "f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
            "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6"
            "079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c65adb7553"
            "878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2"
            "cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
            "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae078"
            "4504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8"
            "fcffead94f3c7ca495e056a9b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301"
            "651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
            "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd9"
            "04b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7"
            "984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a"
            "3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
            "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a4"
            "3dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041"
            "e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d9"
            "0d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
            "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef"
            "68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0"
        ),
        "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
        "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    ),
}


def test_sha512_matches_hashlib(rt: Runtime) -> None:
    # Lengths 0..300 cover 1-3 blocks and the padding edges at 111/112 and 127/128/129.
    lengths = list(range(301))
    got = rt.eval(
        "[hx(sha512(bytes((7 * i + n) & 255 for i in range(n)))) for n in LENGTHS]",
        f"LENGTHS = {lengths!r}",
    )
    for n, digest in zip(lengths, got, strict=True):
        data = bytes((7 * i + n) & 255 for i in range(n))
        assert digest == hashlib.sha512(data).hexdigest(), n


def test_sha512_accepts_buffers(rt: Runtime) -> None:
    want = hashlib.sha512(b"abc").hexdigest()
    got = rt.eval(
        "[hx(sha512(b'abc')), hx(sha512(bytearray(b'abc'))), hx(sha512(memoryview(b'abc')))]"
    )
    assert got == [want] * 3


@pytest.mark.parametrize("name", sorted(RFC8032))
def test_rfc8032_vectors(rt: Runtime, name: str) -> None:
    sk, pk, msg, sig = RFC8032[name]
    got = rt.eval(
        "[hx(s.public_key), hx(s.sign(uh(MSG))), ed25519.verify(uh(PK), uh(MSG), uh(SIG)),"
        " hx(ed25519.public_key(uh(SK)))]",
        f"SK = {sk!r}\nPK = {pk!r}\nMSG = {msg!r}\nSIG = {sig!r}\ns = ed25519.Signer(uh(SK))",
    )
    assert got == [pk, sig, True, pk]


def test_signatures_match_cryptography(rt: Runtime) -> None:
    # Frame-sized (47-byte) messages under many keys, plus a spread of other lengths.
    rng = random.Random(8032)
    cases = [(rng.randbytes(32), rng.randbytes(47)) for _ in range(150)]
    cases += [(rng.randbytes(32), rng.randbytes(n)) for n in (0, 1, 31, 32, 48, 79, 80, 111, 200)]
    inputs = [(seed.hex(), msg.hex()) for seed, msg in cases]
    got = rt.eval(
        "[(hx(s.public_key), hx(s.sign(uh(m))), s.scalar) for s, m in"
        " ((ed25519.Signer(uh(k)), m) for k, m in CASES)]",
        f"CASES = {inputs!r}",
    )
    for (seed, msg), (pub, sig, scalar) in zip(cases, got, strict=True):
        key = Ed25519PrivateKey.from_private_bytes(seed)
        assert pub == raw_public(key).hex()
        assert sig == key.sign(msg).hex()
        h = hashlib.sha512(seed).digest()
        a = int.from_bytes(h[:32], "little")
        assert scalar == (a & ((1 << 254) - 8)) | (1 << 254)


def test_signing_is_repeatable_on_one_signer(rt: Runtime) -> None:
    got = rt.eval(
        "[hx(s.sign(b'frame')), hx(s.sign(bytearray(b'frame'))), hx(s.sign(b'other')),"
        " hx(s.sign(b'frame'))]",
        "s = ed25519.Signer(bytes(range(32)))",
    )
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    assert got == [key.sign(b"frame").hex()] * 2 + [key.sign(b"other").hex(), got[0]]


def test_verify_rejects_tampering(rt: Runtime) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    pub = raw_public(key)
    msg = bytes(range(47))
    sig = key.sign(msg)

    def flip(b: bytes, bit: int) -> str:
        out = bytearray(b)
        out[bit // 8] ^= 1 << (bit % 8)
        return out.hex()

    s_plus_l = sig[:32] + (int.from_bytes(sig[32:], "little") + ORDER).to_bytes(32, "little")
    cases = [(pub.hex(), msg.hex(), sig.hex())]  # the genuine one, must pass
    cases += [(pub.hex(), msg.hex(), flip(sig, bit)) for bit in (0, 9, 255, 256, 300, 511)]
    cases += [(pub.hex(), flip(msg, bit), sig.hex()) for bit in (0, 200, 375)]
    cases += [(flip(pub, bit), msg.hex(), sig.hex()) for bit in (0, 100, 255)]
    cases += [(pub.hex(), msg.hex(), s_plus_l.hex()), (pub.hex(), msg.hex(), sig[:63].hex())]
    got = rt.eval(
        "[ed25519.verify(uh(p), uh(m), uh(s)) for p, m, s in CASES]", f"CASES = {cases!r}"
    )
    assert got == [True] + [False] * (len(cases) - 1)


# RFC 7748 section 5.2 single vectors and section 6.1 Diffie-Hellman, hex.
RFC7748 = [
    (
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    ),
    (
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
    ),
]
ALICE = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
ALICE_PUB = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
BOB = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
BOB_PUB = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
SHARED = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
NINE = "09" + "00" * 31


def test_rfc7748_vectors(rt: Runtime) -> None:
    got = rt.eval(
        "[hx(x25519.x25519(uh(k), uh(u))) for k, u, _ in V]"
        " + [hx(x25519.x25519(uh(NINE), uh(NINE))), hx(x25519.x25519(uh(ALICE), uh(NINE))),"
        " hx(x25519.x25519(uh(BOB), uh(NINE))),"
        " hx(x25519.x25519(uh(ALICE), uh(BOB_PUB))), hx(x25519.x25519(uh(BOB), uh(ALICE_PUB)))]",
        f"V = {RFC7748!r}\nNINE = {NINE!r}\nALICE = {ALICE!r}\nBOB = {BOB!r}\n"
        f"ALICE_PUB = {ALICE_PUB!r}\nBOB_PUB = {BOB_PUB!r}",
    )
    one_iteration = "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"
    assert got == [v[2] for v in RFC7748] + [one_iteration, ALICE_PUB, BOB_PUB, SHARED, SHARED]


def test_rfc7748_1000_iterations() -> None:
    # CPython only: a thousand ladders would take several seconds under MicroPython.
    from protocol.x25519 import x25519

    k = u = bytes.fromhex(NINE)
    for _ in range(1000):
        k, u = x25519(k, u), k
    assert k.hex() == "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"


def test_band_key_agreement_with_cloud(rt: Runtime) -> None:
    # The band's Ed25519 key doubles as its X25519 key: X25519(c, u(A)) == X25519(a, u(C)).
    rng = random.Random(7748)
    seeds = [rng.randbytes(32) for _ in range(4)]
    clouds = [X25519PrivateKey.from_private_bytes(rng.randbytes(32)) for _ in seeds]
    inputs = [(seed.hex(), raw_public(c).hex()) for seed, c in zip(seeds, clouds, strict=True)]
    got = rt.eval(
        "[(hx(s.public_key), hx(x25519.ed25519_public_to_x25519(s.public_key)),"
        " hx(x25519.x25519_from_ed25519_scalar(s.scalar, uh(c)))) for s, c in"
        " ((ed25519.Signer(uh(k)), c) for k, c in CASES)]",
        f"CASES = {inputs!r}",
    )
    for seed, cloud, (pub, u_band, shared) in zip(seeds, clouds, got, strict=True):
        a = int.from_bytes(hashlib.sha512(seed).digest()[:32], "little")
        a = (a & ((1 << 254) - 8)) | (1 << 254)
        # The birational map agrees with X25519's own base-point multiplication by a.
        assert (
            u_band
            == raw_public(X25519PrivateKey.from_private_bytes(a.to_bytes(32, "little"))).hex()
        )
        u_cloud = ed25519_public_to_x25519(bytes.fromhex(pub))  # what the cloud runs (CPython)
        assert u_cloud.hex() == u_band
        assert shared == cloud.exchange(X25519PublicKey.from_public_bytes(u_cloud)).hex()


def test_x25519_refuses_bad_inputs(rt: Runtime) -> None:
    got = rt.eval(
        "[fails(lambda: x25519.x25519(bytes(range(32)), bytes(32))),"  # u = 0: low order
        " fails(lambda: x25519.x25519(bytes(range(32)), b'\\x01' + bytes(31))),"
        " fails(lambda: x25519.x25519_from_ed25519_scalar(s.scalar % L, uh(NINE))),"
        " fails(lambda: x25519.x25519_from_ed25519_scalar(s.scalar | 1, uh(NINE))),"
        " fails(lambda: x25519.ed25519_public_to_x25519(b'\\x01' + bytes(31))),"  # identity
        " fails(lambda: x25519.ed25519_public_to_x25519(b'\\x02' + bytes(31))),"  # not on curve
        " fails(lambda: x25519.x25519_from_ed25519_scalar(s.scalar, uh(NINE)))]",
        "def fails(f):\n"
        "    try:\n"
        "        f()\n"
        "    except ValueError:\n"
        "        return True\n"
        "    return False\n"
        f"s = ed25519.Signer(bytes(32))\nL = {ORDER}\n"
        f"NINE = {NINE!r}",
    )
    assert got == [True] * 6 + [False]


def test_table_module_is_generated() -> None:
    assert (HERE.parent / "protocol" / "ed25519_table.py").read_text() == gen_ed25519_table.render()
