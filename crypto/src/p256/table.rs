//! Fixed-base tables: for a point `P` and a window width `w`, the affine points
//! `j·2^(w·i)·P` for every window `i < ⌈257/w⌉` and `1 ≤ j ≤ 2^(w−1)`. A scalar in
//! signed base-`2^w` digits then costs one mixed addition per non-zero digit and no
//! doubling: `v·P = Σ dᵢ·2^(w·i)·P`, a negative digit using the negated entry.
//!
//! Size: `⌈257/w⌉ · 2^(w−1)` points of 64 bytes: 33 KiB for `w = 4`, 86 KiB for 6,
//! 148 KiB for 7, 264 KiB for 8. Built once at configure time (variable time: the
//! points are public).

use super::point::{normalize_all, Affine, Jacobian};
use super::scalar::signed_digits;

/// Most windows any supported width needs (`w = 2`).
const MAX_WINDOWS: usize = 129;

/// Precomputed multiples of one point.
#[derive(Debug)]
pub(crate) struct Table {
    w: u32,
    entries: usize,
    windows: usize,
    points: Box<[Affine]>,
}

impl Table {
    /// The table of `p` for window width `w` (2 to 8), or `None` for another width.
    pub(crate) fn new(p: &Affine, w: u32) -> Option<Table> {
        if !(2..=8).contains(&w) {
            return None;
        }
        let windows = 257_u32.div_ceil(w) as usize;
        let entries = 1usize << (w - 1);
        // Bases 2^(w·i)·P by doubling, made affine together.
        let mut bases = Vec::with_capacity(windows);
        let mut b = Jacobian::from_affine(p);
        for _ in 0..windows {
            bases.push(b);
            for _ in 0..w {
                b = b.double();
            }
        }
        let bases = normalize_all(&bases)?;
        // Each window's multiples 1..=2^(w−1) of its base by mixed additions.
        let mut all = Vec::with_capacity(windows * entries);
        for base in &bases {
            let mut acc = Jacobian::from_affine(base);
            all.push(acc);
            for _ in 1..entries {
                acc = acc.add_affine(base);
                all.push(acc);
            }
        }
        let points = normalize_all(&all)?.into_boxed_slice();
        Some(Table {
            w,
            entries,
            windows,
            points,
        })
    }

    /// Bytes held by the table.
    pub(crate) fn size_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.points)
    }

    /// `acc + v·P` for a 256-bit `v`: one mixed addition per non-zero digit.
    pub(crate) fn mul_add(&self, mut acc: Jacobian, v: &[u32; 8]) -> Jacobian {
        let mut buf = [0i32; MAX_WINDOWS];
        let digits = buf.get_mut(..self.windows).unwrap_or_default();
        signed_digits(v, self.w, digits);
        for (window, &d) in self.points.chunks_exact(self.entries).zip(digits.iter()) {
            if d == 0 {
                continue;
            }
            if let Some(pt) = window.get(d.unsigned_abs() as usize - 1) {
                acc = if d > 0 {
                    acc.add_affine(pt)
                } else {
                    acc.add_affine(&pt.neg())
                };
            }
        }
        acc
    }
}
