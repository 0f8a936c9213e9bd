//! P-256 fixed-base tables (`weierstrass::Table`) indexed by 256-bit scalars: `⌈257/w⌉`
//! windows, so the signed digits of any `v < 2^256` never carry out of the last one.
//!
//! Size: `⌈257/w⌉ · 2^(w−1)` points of 64 bytes: 33 KiB for `w = 4`, 86 KiB for 6,
//! 148 KiB for 7, 264 KiB for 8. Built once at configure time.

use super::field::Fe;
use super::point::{Affine, Jacobian};
use crate::weierstrass;

/// Precomputed multiples of one P-256 point.
#[derive(Debug)]
pub(crate) struct Table(weierstrass::Table<Fe>);

impl Table {
    /// The table of `p` for window width `w` (2 to 8), or `None` for another width.
    pub(crate) fn new(p: &Affine, w: u32) -> Option<Table> {
        weierstrass::Table::new(p, w, 257_u32.div_ceil(w.max(1)) as usize).map(Table)
    }

    /// Bytes held by the table.
    pub(crate) fn size_bytes(&self) -> usize {
        self.0.size_bytes()
    }

    /// `acc + v·P` for a 256-bit `v`: one mixed addition per non-zero digit.
    pub(crate) fn mul_add(&self, acc: Jacobian, v: &[u32; 8]) -> Jacobian {
        self.0.mul_add(acc, v)
    }
}
