#!/usr/bin/env python3
"""Generates tests/attacks/attacks.json: hostile tokens for jwt-gate, each with the
outcome the filter must produce.  Run from the repository root:

    .venv/bin/python tests/attacks/make_attacks.py            # rewrite attacks.json
    .venv/bin/python tests/attacks/make_attacks.py --new-keys # regenerate the attacker keys first

The output is deterministic (HMAC, RSA PKCS#1 v1.5, RSA-PSS with a zero salt, ECDSA
with RFC 6979 nonces, Ed25519), so re-running the script reproduces the committed JSON
byte for byte.  wasm-test/tests/attacks.rs replays it through the real .wasm; no Python
is needed at test time.

Keys:
* tests/attacks/keys/ -- the ATTACKER's keys (RSA 2048, P-256, Ed25519, an HMAC
  secret), committed, never trusted by the gate.  Every forgery is signed with these,
  with a trusted PUBLIC key used as an HMAC secret (key confusion), or with no key.
* tests/fixtures/keys/*.key.pem and hs256.secret -- the keys the gate trusts.  They are
  used only for (a) the valid control tokens, (b) "genuine signature, wrong encoding"
  cases (DER ECDSA, padded/standard base64, trimmed RSA byte, ...) and (c) claim-layer
  cases (expired, wrong iss/aud, CR/LF claims, duplicate payload keys, ...): those model
  a hostile or buggy *issuer* and must be signed correctly to reach the layer under
  test (a bad signature would be rejected before the claims are ever read).
  Such cases carry "signer": "trusted".

Expected reasons are the metric/log labels of src/error.rs (AuthError::label).
"""

import base64
import hashlib
import hmac
import json
import os
import sys

import jwt  # PyJWT: JWK export of the public keys, and the control tokens
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "keys")
ATTACKER = os.path.join(HERE, "keys")
OUT = os.path.join(HERE, "attacks.json")

# What the replaying test configures (wasm-test/tests/attacks.rs checks these).
NOW = 1_700_000_000
ISSUER = "https://issuer.test"
AUDIENCE = "api"
MAX_LIFETIME_S = 86_400
KIDS = {"HS256": "hs-1", "RS256": "rsa-1", "ES256": "ec-1", "EdDSA": "ed-1"}
CLAIM_HEADERS = {"x-user-id": "sub", "x-user-email": "email", "x-roles": "roles"}
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
ED25519_L = 2**252 + 27742317777372353535851937790883648493


# ---------------------------------------------------------------- keys

def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def new_attacker_keys():
    os.makedirs(ATTACKER, exist_ok=True)
    pem = serialization.Encoding.PEM
    pkcs8 = serialization.PrivateFormat.PKCS8
    none = serialization.NoEncryption()
    for name, key in [
        ("rsa2048.key.pem", rsa.generate_private_key(65537, 2048)),
        ("ec256.key.pem", ec.generate_private_key(ec.SECP256R1())),
        ("ed25519.key.pem", ed25519.Ed25519PrivateKey.generate()),
    ]:
        with open(os.path.join(ATTACKER, name), "wb") as f:
            f.write(key.private_bytes(pem, pkcs8, none))
    with open(os.path.join(ATTACKER, "hmac.secret"), "w") as f:
        f.write(base64.urlsafe_b64encode(os.urandom(48)).decode().rstrip("=") + "\n")


def load_private(path):
    return serialization.load_pem_private_key(read(path), password=None)


if "--new-keys" in sys.argv or not os.path.exists(os.path.join(ATTACKER, "hmac.secret")):
    new_attacker_keys()

EVIL = {
    "RS256": load_private(os.path.join(ATTACKER, "rsa2048.key.pem")),
    "ES256": load_private(os.path.join(ATTACKER, "ec256.key.pem")),
    "EdDSA": load_private(os.path.join(ATTACKER, "ed25519.key.pem")),
    "HS256": read(os.path.join(ATTACKER, "hmac.secret"), "r").strip().encode(),
}
TRUSTED = {
    "RS256": load_private(os.path.join(FIXTURES, "rsa2048.key.pem")),
    "ES256": load_private(os.path.join(FIXTURES, "ec256.key.pem")),
    "EdDSA": load_private(os.path.join(FIXTURES, "ed25519.key.pem")),
    "HS256": read(os.path.join(FIXTURES, "hs256.secret"), "r").rstrip("\r\n").encode(),
}
TRUSTED_PUB_PEM = {
    "rsa": read(os.path.join(FIXTURES, "rsa2048.pub.pem")),
    "rsa-pkcs1": read(os.path.join(FIXTURES, "rsa2048.pkcs1.pub.pem")),
    "ec": read(os.path.join(FIXTURES, "ec256.pub.pem")),
    "ed": read(os.path.join(FIXTURES, "ed25519.pub.pem")),
}


# ---------------------------------------------------------------- encoding

def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def seg(obj):
    """A JSON value (or raw text/bytes) as a base64url segment."""
    if isinstance(obj, (bytes, str)):
        return b64u(obj)
    return b64u(json.dumps(obj, separators=(",", ":")))


HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
HASHLIB = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def raw_sign(alg, key, data):
    """Signature bytes for `alg` over `data` with `key` (private key or HMAC bytes)."""
    bits = alg[-3:]
    if alg.startswith("HS"):
        return hmac.new(key, data, HASHLIB[bits]).digest()
    if alg.startswith("RS"):
        return key.sign(data, padding.PKCS1v15(), HASHES[bits])
    if alg.startswith("PS"):
        return key.sign(data, padding.PSS(padding.MGF1(HASHES[bits]), 0), HASHES[bits])
    if alg.startswith("ES"):
        der = key.sign(data, ec.ECDSA(HASHES[bits], deterministic_signing=True))
        r, s = decode_dss_signature(der)
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if alg == "EdDSA":
        return key.sign(data)
    raise ValueError(alg)


def header(alg_name, **extra):
    h = {"alg": alg_name, "typ": "JWT"} if alg_name is not None else {"typ": "JWT"}
    h.update(extra)
    return h


def claims(**changes):
    c = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": NOW - 10, "exp": NOW + 300}
    for k, v in changes.items():
        if v is DROP:
            c.pop(k, None)
        else:
            c[k] = v
    return c


DROP = object()


def signed(alg, key, hdr=None, payload=None, h_seg=None, p_seg=None):
    """A compact JWS; segments may be given raw (h_seg/p_seg) for malformed JSON."""
    h_seg = h_seg if h_seg is not None else seg(hdr if hdr is not None else header(alg))
    p_seg = p_seg if p_seg is not None else seg(payload if payload is not None else claims())
    inp = f"{h_seg}.{p_seg}"
    return f"{inp}.{b64u(raw_sign(alg, key, inp.encode()))}"


def trusted(alg, hdr=None, payload=None, **kw):
    return signed(alg, TRUSTED[alg], hdr, payload, **kw)


def evil(alg, hdr=None, payload=None, **kw):
    return signed(alg, EVIL[alg], hdr, payload, **kw)


def unsigned(hdr, payload=None, sig=""):
    return f"{seg(hdr)}.{seg(payload if payload is not None else claims())}.{sig}"


def parts(token):
    return token.split(".")


def with_sig(token, sig_bytes):
    h, p, _ = parts(token)
    return f"{h}.{p}.{b64u(sig_bytes)}"


def sig_of(token):
    s = parts(token)[2]
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# ---------------------------------------------------------------- cases

CASES = []
NAMES = set()


def case(category, name, token=None, status=401, reason=None, signer="attacker", repeat=None,
         note=None):
    assert name not in NAMES, name
    NAMES.add(name)
    c = {"name": name, "category": category, "signer": signer}
    if repeat is not None:
        c["repeat"] = repeat
    else:
        c["token"] = token
    expect = {"status": status}
    if reason is not None:
        expect["reason"] = reason
    c["expect"] = expect
    if note:
        c["note"] = note
    CASES.append(c)


def control(name, token, signer="trusted", headers=None):
    assert name not in NAMES, name
    NAMES.add(name)
    want = {"x-user-id": "user-1"}
    want.update(headers or {})
    CASES.append({"name": name, "category": "control", "signer": signer, "token": token,
                  "expect": {"status": 200, "headers": want}})


ALGS = ["HS256", "RS256", "ES256", "EdDSA"]

# --- valid controls: the suite must notice an accept
for alg in ALGS:
    control(f"valid {alg}", trusted(alg))
    control(f"valid {alg} with kid", trusted(alg, header(alg, kid=KIDS[alg])))
# PyJWT-made, as a real issuer library would.
control("valid HS256 by PyJWT", jwt.encode(claims(), TRUSTED["HS256"], algorithm="HS256"))
control("valid RS256 by PyJWT", jwt.encode(claims(), TRUSTED["RS256"], algorithm="RS256",
                                             headers={"kid": KIDS["RS256"]}))
control("valid aud array", trusted("ES256", payload=claims(aud=["other", AUDIENCE])))
control("valid expired within leeway", trusted("HS256", payload=claims(exp=NOW - 30)))

# --- alg none, every casing, with and without a signature
for variant in ["none", "None", "NONE", "nOnE", "NoNe", "nONE", "noNE"]:
    case("alg_none", f"alg {variant}, empty signature", unsigned(header(variant)),
         reason="alg_not_allowed")
case("alg_none", "alg none with an attacker HMAC signature",
     signed("HS256", EVIL["HS256"], header("none")), reason="alg_not_allowed")
case("alg_none", "alg none with a genuine HS256 signature pasted",
     with_sig(unsigned(header("none")), sig_of(trusted("HS256"))), reason="alg_not_allowed")
case("alg_none", "alg none, two segments only", f"{seg(header('none'))}.{seg(claims())}",
     reason="malformed")
case("alg_none", "alg 'none ' with a trailing space", unsigned(header("none ")),
     reason="alg_not_allowed")
case("alg_none", "alg empty string", unsigned(header("")), reason="alg_not_allowed")

# --- missing / non-string alg
case("alg_missing", "no alg header", evil("HS256", header(None)), reason="alg_not_allowed")
case("alg_missing", "no alg, genuine HS256 signature", trusted("HS256", header(None)),
     reason="alg_not_allowed", signer="trusted")
case("alg_missing", "alg null", unsigned(header(None, alg=None)), reason="malformed")
case("alg_missing", "alg number", unsigned(header(None, alg=256)), reason="malformed")
case("alg_missing", "alg array", unsigned(header(None, alg=["HS256"])), reason="malformed")
case("alg_missing", "alg object", unsigned(header(None, alg={"name": "HS256"})),
     reason="malformed")

# --- key confusion: HMAC keyed with the trusted public key's bytes
def public_variants():
    rsa_pub = TRUSTED["RS256"].public_key()
    ec_pub = TRUSTED["ES256"].public_key()
    ed_pub = TRUSTED["EdDSA"].public_key()
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    out = [
        ("RSA SPKI PEM", TRUSTED_PUB_PEM["rsa"]),
        ("RSA SPKI PEM without final newline", TRUSTED_PUB_PEM["rsa"].rstrip(b"\n")),
        ("RSA PKCS#1 PEM", TRUSTED_PUB_PEM["rsa-pkcs1"]),
        ("RSA SPKI DER", rsa_pub.public_bytes(der, spki)),
        ("RSA PKCS#1 DER", rsa_pub.public_bytes(der, serialization.PublicFormat.PKCS1)),
        ("RSA JWK JSON", jwt.algorithms.RSAAlgorithm.to_jwk(rsa_pub).encode()),
        ("RSA modulus bytes", rsa_pub.public_numbers().n.to_bytes(256, "big")),
        ("EC SPKI PEM", TRUSTED_PUB_PEM["ec"]),
        ("EC SPKI DER", ec_pub.public_bytes(der, spki)),
        ("EC uncompressed point", ec_pub.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)),
        ("EC JWK JSON", jwt.algorithms.ECAlgorithm.to_jwk(ec_pub).encode()),
        ("Ed25519 SPKI PEM", TRUSTED_PUB_PEM["ed"]),
        ("Ed25519 raw key", ed_pub.public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)),
        ("Ed25519 JWK JSON", jwt.algorithms.OKPAlgorithm.to_jwk(ed_pub).encode()),
    ]
    return out


for label, secret in public_variants():
    case("key_confusion", f"HS256 keyed with trusted {label}",
         signed("HS256", secret, header("HS256")), reason="bad_signature")
for label, secret in public_variants()[:1] + public_variants()[7:8]:
    for kid in ["rsa-1", "ec-1"]:
        case("key_confusion", f"HS256 keyed with trusted {label}, kid {kid}",
             signed("HS256", secret, header("HS256", kid=kid)), reason="no_matching_key")
    case("key_confusion", f"HS512 keyed with trusted {label}",
         signed("HS512", secret, header("HS512")), reason="alg_not_allowed")

# --- algorithms outside the allow-list [HS256, RS256, ES256, EdDSA]
for alg, key in [("HS384", EVIL["HS256"]), ("HS512", EVIL["HS256"]),
                 ("RS384", EVIL["RS256"]), ("RS512", EVIL["RS256"]),
                 ("PS256", EVIL["RS256"]), ("PS512", EVIL["RS256"])]:
    case("alg_not_allowed", f"{alg} (not in allow-list)", signed(alg, key, header(alg)),
         reason="alg_not_allowed")
for alg in ["PS256", "RS384"]:
    case("alg_not_allowed", f"{alg} signed by the trusted RSA key",
         signed(alg, TRUSTED["RS256"], header(alg)), reason="alg_not_allowed", signer="trusted")
for alg in ["ES384", "ES512", "Ed25519", "ED25519", "eddsa", "hs256", "Rs256", "RSA1_5",
            "dir", "A256GCM", "HS257", "RS256 ", " ES256", "ES256K", "EdDSA\u0000"]:
    case("alg_not_allowed", f"alg {alg!r}", evil("HS256", header(alg)),
         reason="alg_not_allowed")

# --- kid tricks
for label, kid in [
    ("path traversal", "../../../../etc/passwd"),
    ("path traversal to /dev/null", "../../../../../../dev/null"),
    ("windows traversal", "..\\..\\windows\\win.ini"),
    ("absolute path", "/proc/self/environ"),
    ("url", "https://evil.example/jwks.json"),
    ("sql injection", "x' UNION SELECT 'secret' --"),
    ("CRLF log injection", "rsa-1\r\nreason=ok"),
    ("NUL suffix", "rsa-1\u0000"),
    ("trusted kid with trailing space", "rsa-1 "),
    ("empty", ""),
    ("huge (16 KiB)", "A" * 1500),
]:
    case("kid", f"kid {label}", evil("RS256", header("RS256", kid=kid)), reason="unknown_kid")
for label, kid in [("number", 1), ("null", None), ("array", ["rsa-1"]),
                   ("object", {"path": "../x"}), ("bool", True)]:
    case("kid", f"kid {label}", evil("RS256", header("RS256", kid=kid)), reason="malformed")
case("kid", "kid of the trusted RSA key, attacker signature",
     evil("RS256", header("RS256", kid="rsa-1")), reason="bad_signature")
case("kid", "kid of the HMAC key with RS256", evil("RS256", header("RS256", kid="hs-1")),
     reason="no_matching_key")

# --- embedded key sources: the attacker ships its own key
evil_rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(EVIL["RS256"].public_key()))
evil_ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EVIL["ES256"].public_key()))
evil_ed_jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(EVIL["EdDSA"].public_key()))
evil_oct_jwk = {"kty": "oct", "k": b64u(EVIL["HS256"])}
evil_cert_b64 = base64.b64encode(EVIL["RS256"].public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
for alg, jwk in [("RS256", evil_rsa_jwk), ("ES256", evil_ec_jwk), ("EdDSA", evil_ed_jwk),
                 ("HS256", evil_oct_jwk)]:
    case("embedded_key", f"jwk header with attacker {alg} key", evil(alg, header(alg, jwk=jwk)),
         reason="bad_signature")
    case("embedded_key", f"jwk header with attacker {alg} key and trusted kid",
         evil(alg, header(alg, jwk=dict(jwk, kid=KIDS[alg]), kid=KIDS[alg])),
         reason="bad_signature")
case("embedded_key", "jku to attacker JWKS", evil("RS256", header(
    "RS256", jku="https://evil.example/.well-known/jwks.json")), reason="bad_signature")
case("embedded_key", "jku to localhost", evil("RS256", header(
    "RS256", jku="http://127.0.0.1:9901/jwks")), reason="bad_signature")
case("embedded_key", "x5u to attacker certificate", evil("RS256", header(
    "RS256", x5u="https://evil.example/cert.pem")), reason="bad_signature")
case("embedded_key", "x5c with attacker key", evil("RS256", header(
    "RS256", x5c=[evil_cert_b64])), reason="bad_signature")
case("embedded_key", "jwk, jku, x5u and x5c together", evil("ES256", header(
    "ES256", jwk=evil_ec_jwk, jku="https://evil.example/j", x5u="https://evil.example/c",
    x5c=[evil_cert_b64])), reason="bad_signature")

# --- crit / b64
for label, extra in [
    ("unknown crit", {"crit": ["exp-ext"], "exp-ext": 1}),
    ("crit naming a missing parameter", {"crit": ["nope"]}),
    ("empty crit", {"crit": []}),
    ("crit not an array", {"crit": "b64"}),
    ("b64 false", {"b64": False}),
    ("b64 false with crit", {"b64": False, "crit": ["b64"]}),
    ("b64 true with crit", {"b64": True, "crit": ["b64"]}),
    ("b64 string", {"b64": "false"}),
    ("b64 null", {"b64": None}),
]:
    case("crit", label, evil("HS256", header("HS256", **extra)), reason="unsupported_crit")
    if label in ("unknown crit", "b64 false"):
        case("crit", f"{label}, genuine signature", trusted("HS256", header("HS256", **extra)),
             reason="unsupported_crit", signer="trusted")

# --- signatures: stripped, truncated, foreign, attacker-signed
for alg in ALGS:
    good = trusted(alg)
    h, p, s = parts(good)
    case("signature", f"{alg} stripped signature", f"{h}.{p}.", reason="bad_signature",
         signer="trusted")
    case("signature", f"{alg} signature truncated to half",
         with_sig(good, sig_of(good)[: len(sig_of(good)) // 2]), reason="bad_signature",
         signer="trusted")
    case("signature", f"{alg} signed by the attacker key", evil(alg), reason="bad_signature")
    other = trusted(alg, payload=claims(sub="someone-else"))
    case("signature", f"{alg} signature of another genuine token",
         f"{h}.{seg(claims(sub='admin'))}.{parts(other)[2]}", reason="bad_signature",
         signer="trusted")
    case("signature", f"{alg} genuine signature, payload swapped to admin",
         f"{h}.{seg(claims(sub='admin', roles=['admin']))}.{s}", reason="bad_signature",
         signer="trusted")
case("signature", "ES256 header on a genuine EdDSA signature",
     f"{seg(header('ES256'))}.{parts(trusted('EdDSA'))[1]}.{parts(trusted('EdDSA'))[2]}",
     reason="bad_signature", signer="trusted")
case("signature", "RS256 header on a genuine HS256 signature",
     f"{seg(header('RS256'))}.{parts(trusted('HS256'))[1]}.{parts(trusted('HS256'))[2]}",
     reason="bad_signature", signer="trusted")
case("signature", "HS256 signature over header only",
     with_sig(trusted("HS256"), raw_sign("HS256", TRUSTED["HS256"],
                                         parts(trusted("HS256"))[0].encode())),
     reason="bad_signature", signer="trusted")
case("signature", "HS256 signature over the empty string",
     with_sig(trusted("HS256"), raw_sign("HS256", TRUSTED["HS256"], b"")),
     reason="bad_signature", signer="trusted")

# --- ECDSA: psychic signatures, DER, wrong lengths
es = trusted("ES256")
r, s_ = int.from_bytes(sig_of(es)[:32], "big"), int.from_bytes(sig_of(es)[32:], "big")
for label, rr, ss in [
    ("r = s = 0 (psychic signature)", 0, 0),
    ("r = 0", 0, s_),
    ("s = 0", r, 0),
    ("r = s = n (curve order)", P256_N, P256_N),
    ("r = n, genuine s", P256_N, s_),
    ("r = s = 1", 1, 1),
    ("r = s = n - 1", P256_N - 1, P256_N - 1),
    ("r = s = p (field prime)", P256_P, P256_P),
    ("r = s = 2^256 - 1", 2**256 - 1, 2**256 - 1),
    ("genuine r, s + n (overflowing)", r, (s_ + P256_N) % 2**256),
]:
    case("ecdsa", f"ES256 {label}", with_sig(es, rr.to_bytes(32, "big") + ss.to_bytes(32, "big")),
         reason="bad_signature", signer="trusted")
case("ecdsa", "ES256 r=s=0 over a forged admin payload",
     f"{seg(header('ES256'))}.{seg(claims(sub='admin'))}.{b64u(bytes(64))}",
     reason="bad_signature")
case("ecdsa", "ES256 genuine signature DER-encoded",
     with_sig(es, encode_dss_signature(r, s_)), reason="bad_signature", signer="trusted")
case("ecdsa", "ES256 genuine signature with a leading zero byte",
     with_sig(es, b"\x00" + sig_of(es)), reason="bad_signature", signer="trusted")
case("ecdsa", "ES256 genuine signature with r and s zero-padded to 33 bytes",
     with_sig(es, b"\x00" + sig_of(es)[:32] + b"\x00" + sig_of(es)[32:]),
     reason="bad_signature", signer="trusted")
case("ecdsa", "ES256 genuine signature, last byte trimmed",
     with_sig(es, sig_of(es)[:-1]), reason="bad_signature", signer="trusted")
case("ecdsa", "ES256 genuine signature, s and r swapped",
     with_sig(es, sig_of(es)[32:] + sig_of(es)[:32]), reason="bad_signature", signer="trusted")

# --- EdDSA edge cases
ed = trusted("EdDSA")
ed_sig = sig_of(ed)
ed_s = int.from_bytes(ed_sig[32:], "little")
case("eddsa", "EdDSA all-zero signature", with_sig(ed, bytes(64)), reason="bad_signature",
     signer="trusted")
case("eddsa", "EdDSA genuine signature with S + L (malleated)",
     with_sig(ed, ed_sig[:32] + ((ed_s + ED25519_L) % 2**256).to_bytes(32, "little")),
     reason="bad_signature", signer="trusted")
case("eddsa", "EdDSA identity point R, S = 0",
     with_sig(ed, (1).to_bytes(32, "little") + bytes(32)), reason="bad_signature",
     signer="trusted")
case("eddsa", "EdDSA genuine signature plus one byte", with_sig(ed, ed_sig + b"\x00"),
     reason="bad_signature", signer="trusted")

# --- RSA: a byte trimmed or added, degenerate values
rs = trusted("RS256")
rs_sig = sig_of(rs)
n = TRUSTED["RS256"].public_key().public_numbers().n
for label, sig in [
    ("genuine, first byte trimmed", rs_sig[1:]),
    ("genuine, last byte trimmed", rs_sig[:-1]),
    ("genuine, leading zero byte added", b"\x00" + rs_sig),
    ("genuine, trailing zero byte added", rs_sig + b"\x00"),
    ("genuine + n (257 bytes)", (int.from_bytes(rs_sig, "big") + n).to_bytes(257, "big")),
    ("all zeros", bytes(256)),
    ("value 1", (1).to_bytes(256, "big")),
    ("value n", n.to_bytes(256, "big")),
    ("value n - 1", (n - 1).to_bytes(256, "big")),
    ("all 0xff", b"\xff" * 256),
    ("empty", b""),
    ("one byte", b"\x01"),
]:
    case("rsa", f"RS256 signature {label}", with_sig(rs, sig), reason="bad_signature",
         signer="trusted")

# --- encoding: padding, standard alphabet, whitespace, segment count
def genuine_with_url_chars():
    """A genuine HS256 token whose header, payload and signature all contain - or _."""
    for i in range(10_000):
        t = trusted("HS256", header("HS256", kid=KIDS["HS256"], pad="?~>" * (1 + i % 7)),
                    claims(jti=f"jti-{i}", note="??>>~~" * (i % 5)))
        if all(("-" in x or "_" in x) for x in parts(t)):
            return t
    raise SystemExit("no token with - and _ in every segment")


u = genuine_with_url_chars()
uh, up, us = parts(u)
std = lambda x: x.replace("-", "+").replace("_", "/")
padded = lambda x: x + "=" * (-len(x) % 4 or 4) if len(x) % 4 == 0 else x + "=" * (-len(x) % 4)
hs = trusted("HS256")
hh, hp, hsg = parts(hs)
assert len(hsg) % 4 != 0, "signature segment needs padding for the padding cases"
for label, tok in [
    ("standard alphabet in every segment", f"{std(uh)}.{std(up)}.{std(us)}"),
    ("standard alphabet in the signature only", f"{uh}.{up}.{std(us)}"),
    ("padding '=' on the signature", f"{hh}.{hp}.{padded(hsg)}"),
    ("padding '=' on every segment", ".".join(padded(x) for x in (hh, hp, hsg))),
    ("double padding on the signature", f"{hh}.{hp}.{hsg}=="),
    ("non-canonical trailing bits in the signature",
     f"{hh}.{hp}.{hsg[:-1]}{'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.index(hsg[-1]) + 1) % 64]}"),
    ("space inside the payload segment", f"{hh}.{hp[:10]} {hp[10:]}.{hsg}"),
    ("tab inside the signature", f"{hh}.{hp}.{hsg[:5]}\t{hsg[5:]}"),
    ("space after a dot", f"{hh}. {hp}.{hsg}"),
    ("newline inside the header segment", f"{hh[:4]}\n{hh[4:]}.{hp}.{hsg}"),
    ("percent-encoded dot", f"{hh}%2E{hp}.{hsg}"),
    ("non-ASCII character in the payload segment", f"{hh}.{hp}\u00e9.{hsg}"),
]:
    case("encoding", f"genuine token, {label}", tok, reason="malformed", signer="trusted")
for label, tok in [
    ("2 segments", f"{hh}.{hp}"),
    ("4 segments", f"{hh}.{hp}.{hsg}.{hsg}"),
    ("4 segments, trailing dot", f"{hh}.{hp}.{hsg}."),
    ("5 segments (JWE shape)", f"{hh}..{hp}.{hsg}.{hsg}"),
    ("1 segment", hh),
    ("only dots", ".."),
    ("empty header segment", f".{hp}.{hsg}"),
]:
    case("segments", label, tok, reason="malformed", signer="trusted")
# An empty payload is base64url of nothing: the signature (checked first) fails.
case("segments", "empty payload segment", f"{hh}..{hsg}", reason="bad_signature",
     signer="trusted")

# --- JSON shape of the header (parsed before the signature) and of the payload
for label, raw in [
    ("array", b'["HS256"]'), ("string", b'"HS256"'), ("number", b"256"), ("null", b"null"),
    ("true", b"true"),
]:
    case("json", f"header is a JSON {label}", f"{seg(raw)}.{seg(claims())}.{b64u(b'x' * 32)}",
         reason="malformed")
for label, raw in [
    ("not JSON", b"alg=HS256"), ("truncated", b'{"alg":"HS256"'), ("trailing garbage",
                                                                  b'{"alg":"HS256"}x'),
    ("two objects", b'{"alg":"HS256"}{"alg":"none"}'), ("invalid UTF-8",
                                                         b'{"alg":"HS256","kid":"\xff"}'),
    ("lone surrogate escape", b'{"alg":"HS256","kid":"\\ud800"}'),
    ("BOM before the object", b'\xef\xbb\xbf{"alg":"HS256"}'),
    ("single quotes", b"{'alg':'HS256'}"),
]:
    case("json", f"header {label}", evil("HS256", h_seg=seg(raw)), reason="malformed")
case("json", "header duplicate alg (none, then HS256)",
     evil("HS256", h_seg=seg(b'{"alg":"none","alg":"HS256"}')), reason="malformed")
case("json", "header duplicate alg (HS256, then none)",
     trusted("HS256", h_seg=seg(b'{"alg":"HS256","alg":"none"}')), reason="malformed",
     signer="trusted")
case("json", "header duplicate kid", evil("RS256", h_seg=seg(
    b'{"alg":"RS256","kid":"evil","kid":"rsa-1"}')), reason="malformed")
case("json", "header duplicate key by escape (\\u0061lg)",
     evil("HS256", h_seg=seg(b'{"alg":"none","\\u0061lg":"HS256"}')), reason="malformed")
for depth in (17, 64, 200, 5000):
    raw = b'{"alg":"HS256","x":' + b"[" * depth + b"]" * depth + b"}"
    case("json", f"header nested {depth} deep", evil("HS256", h_seg=seg(raw)),
         reason="malformed" if len(seg(raw)) < 8000 else "too_large")

for label, raw in [
    ("array", b'[{"sub":"admin"}]'), ("string", b'"admin"'), ("number", b"1"),
    ("null", b"null"), ("not JSON", b"sub=admin"), ("trailing garbage", b'{"sub":"a"}}'),
]:
    case("json", f"payload is a JSON {label}, genuine signature", trusted("HS256", p_seg=seg(raw)),
         reason="malformed", signer="trusted")
c = claims()
dup_sub = json.dumps(c, separators=(",", ":"))[:-1] + ',"sub":"admin"}'
case("json", "payload duplicate sub, genuine signature", trusted("HS256", p_seg=seg(dup_sub)),
     reason="malformed", signer="trusted")
dup_exp = json.dumps(c, separators=(",", ":"))[:-1] + f',"exp":{NOW + 10**9}}}'
case("json", "payload duplicate exp, genuine signature", trusted("ES256", p_seg=seg(dup_exp)),
     reason="malformed", signer="trusted")
dup_nested = json.dumps(claims(realm_access={"roles": ["user"]}), separators=(",", ":"))
dup_nested = dup_nested.replace('{"roles":["user"]}', '{"roles":["user"],"roles":["admin"]}')
case("json", "payload duplicate key in a nested object, genuine signature",
     trusted("RS256", p_seg=seg(dup_nested)), reason="malformed", signer="trusted")
for depth in (17, 100):
    deep = json.dumps(claims(), separators=(",", ":"))[:-1] + ',"x":' + "[" * depth + "]" * depth + "}"
    case("json", f"payload nested {depth} deep, genuine signature",
         trusted("HS256", p_seg=seg(deep)), reason="malformed", signer="trusted")

# --- size
case("size", "token just over 8 KiB (max_token_bytes)",
     evil("HS256", payload=claims(pad="A" * 6200)), reason="too_large")
case("size", "64 KiB token", repeat={"prefix": f"{hh}.", "chunk": "A", "times": 65536,
                                     "suffix": f".{hsg}"}, reason="too_large", signer="trusted")
case("size", "1 MiB token", repeat={"prefix": f"{hh}.", "chunk": "QUFB", "times": 262144,
                                    "suffix": f".{hsg}"}, reason="too_large", signer="trusted")
case("size", "1 MiB of dots", repeat={"prefix": "", "chunk": ".", "times": 1 << 20,
                                      "suffix": ""}, reason="too_large")
case("size", "64 KiB header of nested arrays",
     repeat={"prefix": b64u('{"alg":"HS256","x":  '), "chunk": "W1tb", "times": 16384,
             "suffix": f".{hp}.{hsg}"}, reason="too_large")

# --- time claims of the wrong type or out of range (genuinely signed: a hostile issuer)
T = "trusted"
for claim in ("exp", "nbf", "iat"):
    for label, value in [("string", str(NOW + 100)), ("bool", True), ("null", None),
                         ("array", [NOW + 100]), ("object", {"$date": NOW + 100})]:
        case("time", f"{claim} as {label}", trusted("HS256", payload=claims(**{claim: value})),
             reason="malformed", signer=T)
case("time", "exp 1e400 (overflows f64)",
     trusted("HS256", p_seg=seg(json.dumps(claims(exp=DROP), separators=(",", ":"))[:-1]
                                + ',"exp":1e400}')),
     reason="malformed", signer=T)
for label, value, reason in [
    ("exp missing", DROP, "missing_exp"),
    ("exp 0", 0, "expired"),
    ("exp negative", -1, "expired"),
    ("exp -1e308", -1e308, "expired"),
    ("exp 61 s ago (past leeway)", NOW - 61, "expired"),
    ("exp 1e308", 1e308, "lifetime_too_long"),
    ("exp 2^64", 2**64, "lifetime_too_long"),
    ("exp 2^63 - 1", 2**63 - 1, "lifetime_too_long"),
    ("exp one lifetime too far", NOW + MAX_LIFETIME_S + 120, "lifetime_too_long"),
]:
    case("time", label, trusted("ES256", payload=claims(exp=value)), reason=reason, signer=T)
for label, changes, reason in [
    ("nbf in the future", {"nbf": NOW + 3600}, "not_yet_valid"),
    ("nbf 1e308", {"nbf": 1e308}, "not_yet_valid"),
    ("nbf 2^64", {"nbf": 2**64}, "not_yet_valid"),
    ("iat in the future", {"iat": NOW + 3600, "exp": NOW + 7200}, "issued_in_future"),
    ("iat 1e308", {"iat": 1e308}, "issued_in_future"),
    ("iat -1e308 (lifetime overflow)", {"iat": -1e308}, "lifetime_too_long"),
    ("iat 0 (issued in 1970)", {"iat": 0}, "lifetime_too_long"),
]:
    case("time", label, trusted("EdDSA", payload=claims(**changes)), reason=reason, signer=T)

# --- issuer / audience
for label, value in [("other issuer", "https://evil.example"), ("trailing slash", ISSUER + "/"),
                     ("upper case", ISSUER.upper()), ("missing", DROP), ("null", None),
                     ("array", [ISSUER]), ("number", 1), ("issuer with NUL", ISSUER + "\u0000")]:
    case("iss_aud", f"iss {label}", trusted("RS256", payload=claims(iss=value)),
         reason="bad_issuer", signer=T)
for label, value in [("other audience", "web"), ("missing", DROP), ("empty array", []),
                     ("array of others", ["web", "admin"]), ("upper case", "API"),
                     ("number", 1), ("nested array", [[AUDIENCE]]), ("object", {"aud": AUDIENCE}),
                     ("prefix", AUDIENCE + "x")]:
    case("iss_aud", f"aud {label}", trusted("RS256", payload=claims(aud=value)),
         reason="bad_audience", signer=T)
case("iss_aud", "attacker-signed token with correct iss/aud",
     evil("RS256", payload=claims(sub="admin")), reason="bad_signature")

# --- claims bound for a header carrying control characters
for label, changes in [
    ("sub with CRLF header injection", {"sub": "user-1\r\nx-admin: true"}),
    ("sub with LF", {"sub": "user-1\nx"}),
    ("sub with CR", {"sub": "user-1\rx"}),
    ("sub with NUL", {"sub": "user-1\u0000admin"}),
    ("sub with DEL", {"sub": "user-1\u007f"}),
    ("sub with C1 NEL", {"sub": "user-1\u0085"}),
    ("sub with ESC", {"sub": "\u001b[31muser"}),
    ("email with CRLF", {"email": "a@b.c\r\nset-cookie: x=y"}),
    ("roles array with an LF element", {"roles": ["user", "admin\nx-admin: 1"]}),
]:
    case("claim_injection", label, trusted("HS256", payload=claims(**changes)),
         reason="unsafe_claim_value", signer=T)

# An object claim is written as compact JSON, where CR is the two characters `\r`:
# safe, so forwarded -- with the escape intact, never a raw CR.
control("roles object with CR in a value is JSON-escaped, not rejected",
        trusted("HS256", payload=claims(roles={"r": "a\rb"})),
        headers={"x-roles": '{"r":"a\\rb"}'})

# --- nested JWT (cty: JWT): jwt-gate verifies one JWS and never unwraps an inner one
inner = evil("HS256", payload=claims(sub="admin"))
inner_trusted = trusted("HS256", payload=claims(sub="admin"))
case("nested", "cty JWT, payload is an attacker JWT, genuine outer signature",
     trusted("HS256", header("HS256", cty="JWT"), p_seg=seg(inner)), reason="malformed", signer=T)
case("nested", "cty JWT, payload is a JSON string holding a JWT, genuine outer signature",
     trusted("ES256", header("ES256", cty="JWT"), p_seg=seg(json.dumps(inner_trusted))),
     reason="malformed", signer=T)
case("nested", "cty JWT, attacker outer signature around a genuine inner JWT",
     evil("HS256", header("HS256", cty="JWT"), p_seg=seg(inner_trusted)),
     reason="bad_signature")
case("nested", "cty JWT, alg none outer around a genuine inner JWT",
     f"{seg(header('none', cty='JWT'))}.{seg(inner_trusted)}.", reason="alg_not_allowed")
case("nested", "cty not a string", evil("HS256", header("HS256", cty=["JWT"])),
     reason="malformed")
case("nested", "typ not a string", evil("HS256", header("HS256", typ=1)), reason="malformed")


# ---------------------------------------------------------------- output

def main():
    doc = {
        "generator": "tests/attacks/make_attacks.py",
        "now": NOW,
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "algorithms": ALGS,
        "kids": KIDS,
        "max_lifetime_s": MAX_LIFETIME_S,
        "claim_headers": CLAIM_HEADERS,
        "cases": CASES,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=True)
        f.write("\n")
    cats = {}
    for c in CASES:
        cats[c["category"]] = cats.get(c["category"], 0) + 1
    attacks = sum(1 for c in CASES if c["category"] != "control")
    print(f"wrote {os.path.relpath(OUT, ROOT)}: {attacks} attacks + "
          f"{cats.get('control', 0)} controls")
    for k, v in cats.items():
        print(f"  {k:16} {v}")


if __name__ == "__main__":
    main()
