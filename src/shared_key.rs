//! Names of the entries jwt-gate keeps in proxy-wasm shared data.
//!
//! Shared data is one store per VM id, and Envoy's default VM id is empty: every wasm
//! plugin of the proxy with the same `vm_id` reads and writes the same names. Two
//! jwt-gate plugins (two listeners, two Istio `WasmPlugin`s) may each have a provider
//! called `corp` with its own revocation list or user service, so a name
//! says where its value came from (cluster, `:authority`, `:path`), not only which
//! provider it is for: a plugin never takes another's list or answers for its own.
//! Key sets are never put here (README, "Shared data and other wasm plugins").
//! Every variable part is written as `<byte length>:<text>`, so no two different
//! sources give one name (cluster and provider names may hold `/` or `:`).

use std::fmt::Write;

/// The shared revocation list fetched from `cluster` at `authority` + `path`.
#[must_use]
pub fn revocation(cluster: &str, authority: &str, path: &str) -> String {
    named("jwt-gate/revoked/", &[cluster, authority, path])
}

/// Slot `slot` of `provider`'s user-check answers from the service at `cluster`,
/// `authority`, `path` (the template). Per provider too: two issuers may share a `sub`.
#[must_use]
pub fn user(provider: &str, cluster: &str, authority: &str, path: &str, slot: u32) -> String {
    let mut name = named("jwt-gate/user/", &[provider, cluster, authority, path]);
    let _ = write!(name, "/{slot}");
    name
}

fn named(prefix: &str, parts: &[&str]) -> String {
    let mut name =
        String::with_capacity(prefix.len() + parts.iter().map(|p| p.len() + 6).sum::<usize>());
    name.push_str(prefix);
    for part in parts {
        // Writing into a String cannot fail.
        let _ = write!(name, "{}:{part}", part.len());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_the_source_and_are_readable() {
        assert_eq!(
            revocation("rev", "rev.test", "/revoked.json"),
            "jwt-gate/revoked/3:rev8:rev.test13:/revoked.json"
        );
        assert_eq!(
            user("corp", "users", "u.test", "/u/{sub}", 17),
            "jwt-gate/user/4:corp5:users6:u.test8:/u/{sub}/17"
        );
    }

    #[test]
    fn different_sources_never_share_a_name() {
        // Without the lengths these pairs would read the same.
        assert_ne!(revocation("a/b", "c", "/p"), revocation("a", "b/c", "/p"),);
        assert_ne!(revocation("a3:b", "c", "/p"), revocation("a", "b", "/p"));
        assert_ne!(
            user("corp", "users", "u", "/u/{sub}", 1),
            user("corp", "users", "u", "/u/{sub}/1", 1),
        );
        assert_ne!(
            user("corp", "users", "u", "/x/{sub}", 1),
            user("partner", "users", "u", "/x/{sub}", 1),
        );
        // One store, two kinds of entry: never the same name either.
        assert!(!user("c", "a", "/p", "/q", 0).starts_with("jwt-gate/revoked/"));
    }
}
