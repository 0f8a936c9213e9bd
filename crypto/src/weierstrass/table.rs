//! Fixed-base tables: for a point `P`, a window width `w` and a window count `k`, the
//! affine points `j·2^(w·i)·P` for every window `i < k` and `1 ≤ j ≤ 2^(w−1)`. A scalar
//! in signed base-`2^w` digits then costs one mixed addition per non-zero digit and no
//! doubling: `v·P = Σ dᵢ·2^(w·i)·P`, a negative digit using the negated entry.
//!
//! Size: `k · 2^(w−1)` points of two field elements. Built once at configure time
//! (variable time: the points are public).

use super::point::{normalize_all, Affine, Jacobian};
use super::FieldElement;

/// Most windows a table may have: `w = 2` over a 522-bit scalar (P-521's order plus the
/// carry bit).
const MAX_WINDOWS: usize = 261;

/// Precomputed multiples of one point.
#[derive(Debug)]
pub(crate) struct Table<F> {
    w: u32,
    entries: usize,
    windows: usize,
    points: Box<[Affine<F>]>,
}

impl<F: FieldElement> Table<F> {
    /// The table of `p` for window width `w` (2 to 8) and `windows` windows, or `None`
    /// for another width.
    pub(crate) fn new(p: &Affine<F>, w: u32, windows: usize) -> Option<Self> {
        if !(2..=8).contains(&w) || windows > MAX_WINDOWS {
            return None;
        }
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

    /// `acc + v·P` for `v` (little-endian limbs) below `2^(w·windows − 1)`: one mixed
    /// addition per non-zero signed digit.
    pub(crate) fn mul_add<const N: usize>(
        &self,
        mut acc: Jacobian<F>,
        v: &[u32; N],
    ) -> Jacobian<F> {
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

/// Signed base-`2^w` digits of `v`, least significant first: `v = Σ dᵢ·2^(w·i)` with
/// `−2^(w−1) < dᵢ ≤ 2^(w−1)`. `out` must hold `⌈(bits(v) + 1)/w⌉` digits so the last one
/// never carries. `w` is 2..=8.
pub(crate) fn signed_digits<const N: usize>(v: &[u32; N], w: u32, out: &mut [i32]) {
    let mask = (1u64 << w) - 1;
    let half = 1i64 << (w - 1);
    let mut carry = 0i64;
    for (i, d) in (0u32..).zip(out.iter_mut()) {
        let bit = i * w;
        let k = (bit / 32) as usize;
        let lo = v.get(k).copied().unwrap_or(0);
        let hi = v.get(k + 1).copied().unwrap_or(0);
        let window = (((u64::from(hi) << 32) | u64::from(lo)) >> (bit % 32)) & mask;
        let mut digit = window as i64 + carry;
        carry = 0;
        if digit > half {
            digit -= 1 << w;
            carry = 1;
        }
        *d = digit as i32;
    }
}
