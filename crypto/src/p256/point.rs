//! P-256 points: affine (table entries, the public key) and Jacobian (`x = X/Z²`,
//! `y = Y/Z³`; `Z = 0` is the point at infinity), with the `a = −3` doubling and the
//! mixed Jacobian + affine addition. Exceptional cases (adding a point to itself or to
//! its negation) are handled by branching: variable time, public values only.

use super::field::Fe;

/// The curve's `b`, big-endian.
const B: [u8; 32] = [
    0x5a, 0xc6, 0x35, 0xd8, 0xaa, 0x3a, 0x93, 0xe7, 0xb3, 0xeb, 0xbd, 0x55, 0x76, 0x98, 0x86, 0xbc,
    0x65, 0x1d, 0x06, 0xb0, 0xcc, 0x53, 0xb0, 0xf6, 0x3b, 0xce, 0x3c, 0x3e, 0x27, 0xd2, 0x60, 0x4b,
];
/// The generator `G`, big-endian `x` then `y`.
pub(crate) const GX: [u8; 32] = [
    0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
    0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
];
pub(crate) const GY: [u8; 32] = [
    0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16,
    0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
];

/// A finite affine point (never the point at infinity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Affine {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
}

impl Affine {
    /// The point `(x, y)` from big-endian coordinates, if both are canonical and it lies
    /// on `y² = x³ − 3x + b`. (The point at infinity has no such encoding.)
    pub(crate) fn from_be(x: &[u8; 32], y: &[u8; 32]) -> Option<Affine> {
        let (x, y) = (Fe::from_be(x)?, Fe::from_be(y)?);
        let b = Fe::from_be(&B)?;
        let x3 = x.square().mul(&x);
        let three_x = x.double().add(&x);
        let rhs = x3.sub(&three_x).add(&b);
        (y.square() == rhs).then_some(Affine { x, y })
    }

    pub(crate) fn neg(&self) -> Affine {
        Affine {
            x: self.x,
            y: self.y.neg(),
        }
    }
}

/// A point in Jacobian coordinates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jacobian {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
    pub(crate) z: Fe,
}

impl Jacobian {
    pub(crate) const INFINITY: Jacobian = Jacobian {
        x: Fe::ONE,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    pub(crate) fn from_affine(p: &Affine) -> Jacobian {
        Jacobian {
            x: p.x,
            y: p.y,
            z: Fe::ONE,
        }
    }

    pub(crate) fn is_infinity(&self) -> bool {
        self.z.is_zero()
    }

    /// `2·self` (dbl-2001-b, `a = −3`: 3M + 5S).
    pub(crate) fn double(&self) -> Jacobian {
        if self.is_infinity() || self.y.is_zero() {
            return Jacobian::INFINITY;
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
    pub(crate) fn add_affine(&self, q: &Affine) -> Jacobian {
        if self.is_infinity() {
            return Jacobian::from_affine(q);
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
                Jacobian::INFINITY
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
pub(crate) fn normalize_all(points: &[Jacobian]) -> Option<Vec<Affine>> {
    // prefix[i] = z₀·…·zᵢ
    let mut prefix = Vec::with_capacity(points.len());
    let mut acc = Fe::ONE;
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
        let before = prefix.get(i.wrapping_sub(1)).copied().unwrap_or(Fe::ONE);
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
