//! Finding the token in a request (`extract`) among random headers, cookies and query
//! parameters; removing a credential so it is not forwarded; and decoding the host's
//! header-map bytes (`header_map::decode`), which come from outside the VM.

use std::borrow::Cow;

use jwt_gate::cookie;
use jwt_gate::error::AuthError;
use jwt_gate::extract::{extract, path_without_query_param, RequestParts, Source};
use jwt_gate::header_map::{self, Header};
use proptest::prelude::*;

use crate::check;

fn sources() -> Vec<Source> {
    vec![
        Source::header("authorization", Some("Bearer ")).unwrap(),
        Source::header("x-token", None).unwrap(),
        Source::cookie("access_token").unwrap(),
        Source::query("access_token").unwrap(),
    ]
}

#[derive(Debug, Clone)]
struct Placed {
    /// Which of `sources()` carry the token.
    at: Vec<bool>,
    token: String,
    /// A second, different token, in this source.
    other: Option<(usize, String)>,
    /// Case and whitespace variations.
    upper_name: bool,
    scheme: &'static str,
    pad: (&'static str, &'static str),
    quoted: bool,
    noise_headers: Vec<(String, String)>,
    noise_cookies: Vec<String>,
    noise_params: Vec<String>,
}

fn placed() -> impl Strategy<Value = Placed> {
    let token = "[A-Za-z0-9._-]{1,40}";
    let noise_header = ("[a-z-]{1,10}", "\\PC{0,20}").prop_filter("not a source", |(n, _)| {
        !["authorization", "x-token", "cookie"].contains(&n.as_str())
    });
    (
        prop::collection::vec(any::<bool>(), 4),
        token,
        prop::option::of((0..4usize, token)),
        (
            any::<bool>(),
            prop::sample::select(vec!["Bearer ", "bearer ", "BEARER ", "BeArEr "]),
        ),
        prop::sample::select(vec![("", ""), (" ", " "), ("\t", ""), ("", "  ")]),
        any::<bool>(),
        prop::collection::vec(noise_header, 0..5),
        prop::collection::vec("[a-z_]{1,8}=[A-Za-z0-9._-]{0,8}", 0..4),
        prop::collection::vec("[a-z]{1,5}(=[A-Za-z0-9._%-]{0,8})?", 0..4),
    )
        .prop_map(
            |(
                at,
                token,
                other,
                (upper_name, scheme),
                pad,
                quoted,
                noise_headers,
                noise_cookies,
                noise_params,
            )| Placed {
                at,
                token,
                other,
                upper_name,
                scheme,
                pad,
                quoted,
                noise_headers,
                noise_cookies,
                noise_params,
            },
        )
        .prop_filter("cookie noise never named like the source", |p| {
            p.noise_cookies
                .iter()
                .all(|c| !c.starts_with("access_token="))
        })
}

/// Builds the request: headers and `:path`.
fn build(p: &Placed) -> (Vec<Header<'static>>, String) {
    let mut headers = p.noise_headers.clone();
    let mut cookies = p.noise_cookies.clone();
    let mut params = p.noise_params.clone();
    let mut put = |source: usize, token: &str| match source {
        0 => {
            let name = if p.upper_name {
                "Authorization"
            } else {
                "authorization"
            };
            headers.push((
                name.into(),
                format!("{}{}{}{token}{}", p.pad.0, p.scheme, p.pad.0, p.pad.1),
            ));
        }
        1 => headers.push(("x-token".into(), format!("{}{token}{}", p.pad.0, p.pad.1))),
        2 => cookies.insert(
            cookies.len() / 2,
            if p.quoted {
                format!("access_token=\"{token}\"")
            } else {
                format!("access_token={token}")
            },
        ),
        _ => params.insert(params.len() / 2, format!("access_token={token}")),
    };
    for (i, on) in p.at.iter().enumerate() {
        if *on {
            put(i, &p.token);
        }
    }
    if let Some((i, t)) = &p.other {
        put(*i, t);
    }
    if !cookies.is_empty() {
        headers.push(("cookie".into(), cookies.join("; ")));
    }
    let path = if params.is_empty() {
        "/p".to_string()
    } else {
        format!("/p?{}", params.join("&"))
    };
    let headers = headers
        .into_iter()
        .map(|(n, v)| (n.into(), v.into()))
        .collect();
    (headers, path)
}

#[test]
fn the_token_is_found_in_exactly_the_sources_that_carry_it() {
    let sources = sources();
    check("headers.extract", placed(), |p, tally| {
        let (headers, path) = build(&p);
        let got = extract(
            &sources,
            RequestParts {
                headers: &headers,
                path: &path,
            },
        );
        // As (token, source indices): `Found` keeps the indices as a bit set.
        let got = got.map(|found| found.map(|f| (f.token, f.sources.iter().collect::<Vec<_>>())));
        let places: Vec<usize> = (0..4).filter(|&i| p.at[i]).collect();
        let expected = match &p.other {
            Some((_, t)) if *t != p.token && !places.is_empty() => Err(AuthError::MultipleTokens),
            Some((i, t)) if places.is_empty() => Ok(Some((t.as_str(), vec![*i]))),
            Some((i, _)) => {
                let mut all = places.clone();
                if !all.contains(i) {
                    all.push(*i);
                    all.sort_unstable();
                }
                Ok(Some((p.token.as_str(), all)))
            }
            None if places.is_empty() => Ok(None),
            None => Ok(Some((p.token.as_str(), places))),
        };
        prop_assert_eq!(&got, &expected, "{:?} {}", headers, path);
        tally.saw(match got {
            Ok(Some(_)) => "found",
            Ok(None) => "none",
            Err(_) => "two_tokens",
        });
        Ok(())
    });
}

#[test]
fn a_removed_credential_is_gone_and_nothing_else_is() {
    let param = prop_oneof![
        "[a-z_]{1,12}(=[^&#]{0,8})?",
        Just("access_token=t".to_string()),
        Just(String::new())
    ];
    let strategy = (
        prop::collection::vec(param, 0..6),
        prop::option::of("#[ -~]{0,8}"),
        prop::collection::vec(
            prop_oneof![
                "[a-z_]{1,12}=[A-Za-z0-9.]{0,6}",
                Just("access_token=c".to_string())
            ],
            0..6,
        ),
    );
    check(
        "headers.remove_credential",
        strategy,
        |(params, frag, cookies), tally| {
            let path = format!("/p?{}{}", params.join("&"), frag.unwrap_or_default());
            let stripped = path_without_query_param(&path, "access_token");
            let query_only = [Source::query("access_token").unwrap()];
            prop_assert_eq!(
                extract(
                    &query_only,
                    RequestParts {
                        headers: &[],
                        path: &stripped
                    }
                ),
                Ok(None),
                "{}",
                stripped
            );
            prop_assert!(stripped.starts_with("/p"));
            let others = |p: &str| -> Vec<String> {
                p.split_once('?')
                    .map_or("", |(_, q)| q)
                    .split('&')
                    .filter(|kv| {
                        !kv.is_empty() && !kv.starts_with("access_token=") && *kv != "access_token"
                    })
                    .map(str::to_string)
                    .collect()
            };
            prop_assert_eq!(others(&stripped), others(&path));

            let header = cookies.join("; ");
            let kept: Vec<Header<'_>> = cookie::without(&header, "access_token")
                .map(|h| vec![("cookie".into(), h.into())])
                .unwrap_or_default();
            let cookie_only = [Source::cookie("access_token").unwrap()];
            prop_assert_eq!(
                extract(
                    &cookie_only,
                    RequestParts {
                        headers: &kept,
                        path: "/"
                    }
                ),
                Ok(None)
            );
            tally.saw(if stripped == path {
                "unchanged"
            } else {
                "stripped"
            });
            Ok(())
        },
    );
}

/// The proxy-wasm header-map wire format: count, lengths, NUL-terminated bytes.
fn serialize(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let len = |n: usize| u32::try_from(n).unwrap().to_le_bytes();
    let mut out = len(pairs.len()).to_vec();
    for (n, v) in pairs {
        out.extend(len(n.len()));
        out.extend(len(v.len()));
    }
    for (n, v) in pairs {
        out.extend(n);
        out.push(0);
        out.extend(v);
        out.push(0);
    }
    out
}

#[test]
fn header_maps_decode_exactly_and_truncated_ones_to_a_prefix() {
    let bytes = prop::collection::vec(any::<u8>(), 0..24);
    let strategy = (
        prop::collection::vec((bytes.clone(), bytes), 0..12),
        any::<usize>(),
        any::<bool>(),
    );
    check(
        "headers.map_decode",
        strategy,
        |(pairs, cut, truncate), tally| {
            let wire = serialize(&pairs);
            // The reference decode: an owned lossy copy of every name and value.
            let lossy: Vec<Header<'_>> = pairs
                .iter()
                .map(|(n, v)| {
                    (
                        Cow::Owned(String::from_utf8_lossy(n).into_owned()),
                        Cow::Owned(String::from_utf8_lossy(v).into_owned()),
                    )
                })
                .collect();
            if truncate {
                let got = header_map::decode(&wire[..cut % (wire.len() + 1)]);
                prop_assert!(
                    got.len() <= lossy.len() && got[..] == lossy[..got.len()],
                    "not a prefix"
                );
                tally.saw("truncated");
            } else {
                let got = header_map::decode(&wire);
                prop_assert_eq!(&got, &lossy);
                // Valid UTF-8 is borrowed from the wire, only invalid bytes are copied.
                for ((name, value), (raw_name, raw_value)) in got.iter().zip(&pairs) {
                    let borrowed = |text: &Cow<'_, str>| matches!(text, Cow::Borrowed(_));
                    prop_assert_eq!(borrowed(name), std::str::from_utf8(raw_name).is_ok());
                    prop_assert_eq!(borrowed(value), std::str::from_utf8(raw_value).is_ok());
                }
                tally.saw("whole");
            }
            Ok(())
        },
    );
}
