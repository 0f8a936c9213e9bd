//! Points of a short Weierstrass curve with `a = −3` (P-256, P-384, P-521) over a field
//! `F`: affine (table entries, the public key) and Jacobian (`x = X/Z²`, `y = Y/Z³`;
//! `Z = 0` is the point at infinity), with the `a = −3` doubling and the mixed
//! Jacobian + affine addition. Exceptional cases (adding a point to itself or to its
//! negation) branch: variable time, public values only.

use super::FieldElement;

/// A finite affine point (never the point at infinity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Affine<F> {
    pub(crate) x: F,
    pub(crate) y: F,
}

impl<F: FieldElement> Affine<F> {
    /// The point `(x, y)` if it lies on `y² = x³ − 3x + b`. (The point at infinity has
    /// no affine coordinates.)
    pub(crate) fn on_curve(x: F, y: F, b: &F) -> Option<Self> {
        let x3 = x.square().mul(&x);
        let three_x = x.double().add(&x);
        let rhs = x3.sub(&three_x).add(b);
        (y.square() == rhs).then_some(Affine { x, y })
    }

    pub(crate) fn neg(&self) -> Self {
        Affine {
            x: self.x,
            y: self.y.neg(),
        }
    }
}

/// A point in Jacobian coordinates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jacobian<F> {
    pub(crate) x: F,
    pub(crate) y: F,
    pub(crate) z: F,
}

impl<F: FieldElement> Jacobian<F> {
    pub(crate) const INFINITY: Self = Jacobian {
        x: F::ONE,
        y: F::ONE,
        z: F::ZERO,
    };

    pub(crate) fn from_affine(p: &Affine<F>) -> Self {
        Jacobian {
            x: p.x,
            y: p.y,
            z: F::ONE,
        }
    }

    pub(crate) fn is_infinity(&self) -> bool {
        self.z.is_zero()
    }

    /// `2·self` (dbl-2001-b, `a = −3`: 3M + 5S).
    pub(crate) fn double(&self) -> Self {
        if self.is_infinity() || self.y.is_zero() {
            return Self::INFINITY;
        }
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.mul(&gamma);
        let t = self.x.sub(&delta).mul(&self.x.add(&delta));
        let alpha = t.double().add(&t);
        let beta4 = beta.double().double();
        let x3 = alpha.square().sub(&beta4.double());
        let z3 = self.y.add(&self.z).square().sub(&gamma).sub(&delta);
        let gamma2_8 = gamma.square().double().double().double();
        let y3 = alpha.mul(&beta4.sub(&x3)).sub(&gamma2_8);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `self + q` for an affine `q` (madd-2004-hmv: 8M + 3S), exceptional cases included.
    pub(crate) fn add_affine(&self, q: &Affine<F>) -> Self {
        if self.is_infinity() {
            return Self::from_affine(q);
        }
        let z1z1 = self.z.square();
        let u2 = q.x.mul(&z1z1);
        let s2 = q.y.mul(&self.z.mul(&z1z1));
        let h = u2.sub(&self.x);
        let r = s2.sub(&self.y);
        if h.is_zero() {
            // Same x: the same point (double it) or its negation (the sum is infinity).
            return if r.is_zero() {
                self.double()
            } else {
                Self::INFINITY
            };
        }
        let hh = h.square();
        let hhh = h.mul(&hh);
        let v = self.x.mul(&hh);
        let x3 = r.square().sub(&hhh).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&self.y.mul(&hhh));
        let z3 = self.z.mul(&h);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }
}

/// Affine forms of finite Jacobian points with one field inversion (Montgomery's trick).
/// `None` if any of them is the point at infinity.
pub(crate) fn normalize_all<F: FieldElement>(points: &[Jacobian<F>]) -> Option<Vec<Affine<F>>> {
    // prefix[i] = z₀·…·zᵢ
    let mut prefix = Vec::with_capacity(points.len());
    let mut acc = F::ONE;
    for p in points {
        if p.is_infinity() {
            return None;
        }
        acc = acc.mul(&p.z);
        prefix.push(acc);
    }
    let mut inv = acc.invert();
    let mut out = Vec::with_capacity(points.len());
    // Walk back: inv = (z₀·…·zᵢ)⁻¹, so zᵢ⁻¹ = inv·(z₀·…·zᵢ₋₁).
    for (i, p) in points.iter().enumerate().rev() {
        let before = prefix.get(i.wrapping_sub(1)).copied().unwrap_or(F::ONE);
        let zinv = inv.mul(&before);
        inv = inv.mul(&p.z);
        let zinv2 = zinv.square();
        out.push(Affine {
            x: p.x.mul(&zinv2),
            y: p.y.mul(&zinv2.mul(&zinv)),
        });
    }
    out.reverse();
    Some(out)
}
