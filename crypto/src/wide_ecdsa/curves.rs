//! The P-384 and P-521 parameters (FIPS 186-5 / SEC 2) and the public verifier types.
//! `tests.rs` checks every constant against the RustCrypto crates.
//!
//! Table widths trade memory per VM for additions per verify (`⌈(bits+1)/w⌉` each):
//!
//! | curve | `G` (once per VM) | each key |
//! | --- | --- | --- |
//! | P-384 | `w = 7`: 338 KiB, 55 additions | `w = 6`: 200 KiB, 65 additions |
//! | P-521 | `w = 6`: 379 KiB, 87 additions | `w = 5`: 228 KiB, 105 additions |

use std::sync::OnceLock;

use super::field::{sparse_mont_mul, Fe, Modulus};
use super::limbs::from_hex;
use super::{Curve, Verifier};
use crate::weierstrass::Table;

/// Limbs of P-384 values (384 bits).
const N384: usize = 12;
/// Limbs of P-521 values (521 bits, so 23 spare bits in the top limb).
const N521: usize = 17;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct P384Field;
impl Modulus<N384> for P384Field {
    const M: [u32; N384] = from_hex(
        "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
    );

    fn mont_mul(a: &[u32; N384], b: &[u32; N384]) -> [u32; N384] {
        // p + 1 = 2^384 − 2^128 − 2^96 + 2^32: words 1 (+1), 3 (−1), 4 (−1), 12 (+1).
        sparse_mont_mul::<Self, N384, { 2 * N384 }>(a, b, &[(1, 1), (3, -1), (4, -1), (12, 1)])
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct P384Order;
impl Modulus<N384> for P384Order {
    const M: [u32; N384] = from_hex(
        "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
    );
}

#[derive(Debug)]
pub(crate) struct P384;
impl Curve<N384> for P384 {
    type Field = P384Field;
    type Order = P384Order;
    const BYTES: usize = 48;
    const ORDER_BITS: u32 = 384;
    const B: [u32; N384] = from_hex(
        "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
    );
    const GX: [u32; N384] = from_hex(
        "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
    );
    const GY: [u32; N384] = from_hex(
        "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
    );
    const G_WINDOW: u32 = 7;
    const Q_WINDOW: u32 = 6;

    fn g_table() -> Option<&'static Table<Fe<P384Field, N384>>> {
        static G_TABLE: OnceLock<Option<Table<Fe<P384Field, N384>>>> = OnceLock::new();
        G_TABLE.get_or_init(Self::build_g_table).as_ref()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct P521Field;
impl Modulus<N521> for P521Field {
    // 2^521 − 1
    const M: [u32; N521] = from_hex(
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    );

    fn mont_mul(a: &[u32; N521], b: &[u32; N521]) -> [u32; N521] {
        // p + 1 = 2^521 = 512·2^(32·16).
        sparse_mont_mul::<Self, N521, { 2 * N521 }>(a, b, &[(16, 512)])
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct P521Order;
impl Modulus<N521> for P521Order {
    const M: [u32; N521] = from_hex(
        "01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
    );
}

#[derive(Debug)]
pub(crate) struct P521;
impl Curve<N521> for P521 {
    type Field = P521Field;
    type Order = P521Order;
    const BYTES: usize = 66;
    const ORDER_BITS: u32 = 521;
    const B: [u32; N521] = from_hex(
        "0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
    );
    const GX: [u32; N521] = from_hex(
        "00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66",
    );
    const GY: [u32; N521] = from_hex(
        "011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650",
    );
    const G_WINDOW: u32 = 6;
    const Q_WINDOW: u32 = 5;

    fn g_table() -> Option<&'static Table<Fe<P521Field, N521>>> {
        static G_TABLE: OnceLock<Option<Table<Fe<P521Field, N521>>>> = OnceLock::new();
        G_TABLE.get_or_init(Self::build_g_table).as_ref()
    }
}

/// A public verifier type per curve: the generic `Verifier` stays private, so the
/// curve and field traits do not become public API.
macro_rules! verifier {
    ($(#[$doc:meta])* $name:ident, $curve:ty, $limbs:expr, $krate:ident, $sha:literal) => {
        $(#[$doc])*
        pub struct $name(Verifier<$curve, { $limbs }>);

        impl $name {
            /// The verifier for the public point `(x, y)` (big-endian coordinates of the
            /// curve's length). `None` if a coordinate is not below `p` or the point is
            /// not on the curve.
            #[must_use]
            pub fn new(x: &[u8], y: &[u8]) -> Option<$name> {
                Verifier::new(x, y).map($name)
            }

            /// The verifier for a key already decoded (and validated) by the RustCrypto
            /// crate, which also reads compressed points.
            #[must_use]
            pub fn from_verifying_key(key: &$krate::ecdsa::VerifyingKey) -> Option<$name> {
                let point = key.to_encoded_point(false);
                $name::new(point.x()?, point.y()?)
            }

            /// Bytes of precomputed points held for this key.
            #[must_use]
            pub fn table_bytes(&self) -> usize {
                self.0.q.size_bytes()
            }

            #[doc = concat!("ECDSA verification of a raw `r || s` signature over a ", $sha, " digest.")]
            #[must_use]
            pub fn verify_prehash(&self, digest: &[u8], sig: &[u8]) -> bool {
                self.0.verify_prehash(digest, sig)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("table_bytes", &self.table_bytes())
                    .finish_non_exhaustive()
            }
        }
    };
}

verifier!(
    /// A P-384 public key ready for fast ES384 verification.
    P384Verifier, P384, N384, p384, "SHA-384"
);
verifier!(
    /// A P-521 public key ready for fast ES512 verification.
    P521Verifier, P521, N521, p521, "SHA-512"
);
