//! auth-api against a real PostgreSQL: the same schema, seed, login and user check as
//! with SQLite. Uses `DEMO_TEST_DATABASE_URL` when set (a throwaway database: the test
//! deletes a user in it); otherwise starts a private cluster with the local `initdb` /
//! `pg_ctl` (as the `postgres` user when run as root) on a free port; otherwise it says
//! it was skipped and passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Service;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_auth-api");

/// A private cluster, stopped when dropped.
struct Cluster {
    pg_ctl: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn command(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command(&self.pg_ctl)
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
    });
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|d| d.join("initdb").exists())
            .collect();
        versions.sort();
        versions.pop()
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Starts a trust-auth cluster on 127.0.0.1 and returns it with its URL.
fn start_cluster() -> Option<(Cluster, String)> {
    let bin = find_bin_dir()?;
    let as_postgres = is_root();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    if as_postgres {
        let ok = Command::new("chown")
            .args(["postgres"])
            .arg(dir.path())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("cannot hand the cluster directory to the postgres user");
            return None;
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cluster = Cluster {
        pg_ctl: bin.join("pg_ctl"),
        data: data.clone(),
        as_postgres,
        _dir: dir,
    };
    let out = cluster
        .command(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sock = cluster._dir.path().display().to_string();
    let out = cluster
        .command(&cluster.pg_ctl)
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(data.join("log"))
        .args([
            "-o",
            &format!("-p {port} -h 127.0.0.1 -k {sock} -F"),
            "-w",
            "start",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_ctl start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((
        cluster,
        format!("postgres://postgres@127.0.0.1:{port}/postgres"),
    ))
}

#[test]
fn auth_api_on_postgres() {
    let (_cluster, url) = match std::env::var("DEMO_TEST_DATABASE_URL") {
        Ok(url) => {
            println!("auth_api_on_postgres: using DEMO_TEST_DATABASE_URL");
            (None, url)
        }
        Err(_) => match start_cluster() {
            Some((c, url)) => {
                println!("auth_api_on_postgres: private cluster at {url}");
                (Some(c), url)
            }
            None => {
                println!("SKIPPED auth_api_on_postgres: no initdb/pg_ctl found and DEMO_TEST_DATABASE_URL unset");
                return;
            }
        },
    };
    let dir = tempfile::tempdir().unwrap();
    let db = common::sqlite_env(dir.path());
    let envs = [("DATABASE_URL", url.as_str()), ("DEMO_DB", db.as_str())];

    let svc = Service::start(BIN, &envs);
    assert!(svc.log().contains("PostgreSQL"), "{}", svc.log());
    assert!(!svc.log().contains(&url), "the URL is never logged");
    assert!(
        !dir.path().join("users.db").exists(),
        "no SQLite file when on PostgreSQL"
    );

    let login = |user: &str, pass: &str| {
        svc.send(
            "POST",
            "/api/auth/login",
            &[("Content-Type", "application/json")],
            Some(&json!({ "username": user, "password": pass }).to_string()),
        )
    };
    assert_eq!(login("alice", "alice-password").status, 200);
    assert_eq!(login("alice", "nope").status, 401);
    assert_eq!(
        svc.get("/internal/users/1").json(),
        json!({ "sub": "1", "active": true })
    );
    assert_eq!(
        svc.send("POST", "/internal/users/2/disable", &[], None)
            .status,
        200
    );
    assert_eq!(svc.get("/internal/users/2").status, 404);
    assert_eq!(
        svc.send("POST", "/internal/users/2/enable", &[], None)
            .status,
        200
    );
    assert_eq!(login("bob", "bob-password").status, 200);
    assert_eq!(
        svc.send("DELETE", "/internal/users/2", &[], None).status,
        204
    );
    assert_eq!(svc.get("/internal/users/2").status, 404);
    assert_eq!(svc.get("/healthz").status, 200);
    drop(svc);

    // A restart finds the table non-empty and does not re-seed.
    let svc = Service::start(BIN, &envs);
    assert_eq!(svc.get("/internal/users/2").status, 404);
    assert_eq!(svc.get("/internal/users/1").status, 200);
}
