//! The two RSA signature encodings jwt-gate verifies, checked on the encoded message
//! `EM = s^e mod n` (big-endian, as long as the modulus):
//! EMSA-PKCS1-v1_5 (RFC 8017 §9.2) by building the one expected encoding and comparing
//! every byte, and EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with MGF1 of the same hash and a
//! salt as long as the hash (RFC 7518 §3.5).
//!
//! Everything here is public (the key, the signature and the message), so the
//! comparisons need not be constant-time.

use sha2::{Sha256, Sha384, Sha512};

use super::Sha;

/// Longest encoded message: a 4096-bit modulus.
const MAX_EM: usize = 512;

/// A hash output (up to SHA-512's 64 bytes).
#[derive(Clone, Copy)]
pub(crate) struct Hashed {
    bytes: [u8; 64],
    len: usize,
}

impl Hashed {
    /// The hash output.
    pub(crate) fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// `sha(parts[0] || parts[1] || …)`.
pub(crate) fn hash(sha: Sha, parts: &[&[u8]]) -> Hashed {
    fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Hashed {
        let mut d = D::new();
        for p in parts {
            d.update(p);
        }
        let out = d.finalize();
        let mut bytes = [0u8; 64];
        bytes.iter_mut().zip(out.iter()).for_each(|(b, o)| *b = *o);
        Hashed {
            bytes,
            len: out.len(),
        }
    }
    match sha {
        Sha::S256 => run::<Sha256>(parts),
        Sha::S384 => run::<Sha384>(parts),
        Sha::S512 => run::<Sha512>(parts),
    }
}

/// DER of `DigestInfo` up to the digest itself (RFC 8017 §9.2 note 1), NULL parameters.
fn digest_info_prefix(sha: Sha) -> &'static [u8] {
    match sha {
        Sha::S256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        Sha::S384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        Sha::S512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

/// `em == 0x00 0x01 0xff… 0x00 DigestInfo(sha, digest)`, at least 8 bytes of 0xff.
pub(crate) fn pkcs1_v15_matches(sha: Sha, em: &[u8], digest: &[u8]) -> bool {
    let prefix = digest_info_prefix(sha);
    let t_len = prefix.len() + digest.len();
    let Some(ps_len) = em.len().checked_sub(t_len + 3) else {
        return false;
    };
    if ps_len < 8 {
        return false;
    }
    let expected = [0x00, 0x01]
        .iter()
        .chain(std::iter::repeat_n(&0xff, ps_len))
        .chain(&[0x00])
        .chain(prefix)
        .chain(digest);
    em.iter().eq(expected)
}

/// EMSA-PSS-VERIFY of `m_hash` against `em_full` (the `k`-byte `s^e mod n`) for a
/// modulus of `mod_bits` bits, salt length = hash length.
pub(crate) fn pss_matches(sha: Sha, em_full: &[u8], mod_bits: usize, m_hash: &[u8]) -> bool {
    let Some(em_bits) = mod_bits.checked_sub(1) else {
        return false;
    };
    let em_len = em_bits.div_ceil(8);
    // I2OSP(m, emLen): a k-byte value whose extra leading byte (when emBits is a multiple
    // of 8) is not zero does not fit emLen bytes.
    let Some((lead, em)) = em_full.split_at_checked(em_full.len().saturating_sub(em_len)) else {
        return false;
    };
    if em.len() != em_len || lead.iter().any(|&b| b != 0) {
        return false;
    }
    let h_len = m_hash.len();
    let s_len = h_len;
    let Some(db_len) = em_len.checked_sub(h_len + 1) else {
        return false;
    };
    let Some(ps_len) = db_len.checked_sub(s_len + 1) else {
        return false;
    };
    let Some((masked_db, rest)) = em.split_at_checked(db_len) else {
        return false;
    };
    let Some((h, trailer)) = rest.split_at_checked(h_len) else {
        return false;
    };
    if trailer != [0xbc] {
        return false;
    }
    // The leftmost 8·emLen − emBits bits of maskedDB must be zero.
    let top_mask = 0xffu8 >> (8 * em_len - em_bits);
    if masked_db.first().is_none_or(|&b| b & !top_mask != 0) {
        return false;
    }
    let mut db_buf = [0u8; MAX_EM];
    let Some(db) = db_buf.get_mut(..db_len) else {
        return false;
    };
    db.copy_from_slice(masked_db);
    mgf1_xor(sha, h, db);
    if let Some(first) = db.first_mut() {
        *first &= top_mask;
    }
    let Some((ps, rest)) = db.split_at_checked(ps_len) else {
        return false;
    };
    let Some((one, salt)) = rest.split_first() else {
        return false;
    };
    if *one != 0x01 || ps.iter().any(|&b| b != 0) {
        return false;
    }
    hash(sha, &[&[0u8; 8], m_hash, salt]).as_slice() == h
}

/// `out ^= MGF1(seed, out.len())` with `sha` (RFC 8017 §B.2.1).
fn mgf1_xor(sha: Sha, seed: &[u8], out: &mut [u8]) {
    let h_len = match sha {
        Sha::S256 => 32,
        Sha::S384 => 48,
        Sha::S512 => 64,
    };
    for (counter, chunk) in (0u32..).zip(out.chunks_mut(h_len)) {
        let mask = hash(sha, &[seed, &counter.to_be_bytes()]);
        chunk
            .iter_mut()
            .zip(mask.as_slice())
            .for_each(|(b, m)| *b ^= m);
    }
}
