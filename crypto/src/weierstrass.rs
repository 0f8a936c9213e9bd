//! The curve arithmetic shared by the ECDSA verifiers written for wasm (P-256 in
//! `p256_fast`, P-384 and P-521 in `wide_ecdsa`): points of an `a = −3` short
//! Weierstrass curve and fixed-base tables of their multiples, generic over the field
//! (`FieldElement`), which each curve implements with its own limb layout and reduction.

#[path = "weierstrass/point.rs"]
mod point;
#[path = "weierstrass/table.rs"]
mod table;

#[cfg(test)]
pub(crate) use point::normalize_all;
pub(crate) use point::{Affine, Jacobian};
#[cfg(test)]
pub(crate) use table::signed_digits;
pub(crate) use table::Table;

/// An element of a prime field, in whatever internal form (Montgomery) the
/// implementation keeps; every operation returns a fully reduced element.
pub(crate) trait FieldElement: Copy + Eq + std::fmt::Debug {
    const ZERO: Self;
    const ONE: Self;
    fn add(&self, b: &Self) -> Self;
    fn sub(&self, b: &Self) -> Self;
    fn neg(&self) -> Self;
    fn double(&self) -> Self;
    fn mul(&self, b: &Self) -> Self;
    fn square(&self) -> Self;
    fn is_zero(&self) -> bool;
    /// `self⁻¹`, zero for zero (configure time only: table building).
    fn invert(&self) -> Self;
}
