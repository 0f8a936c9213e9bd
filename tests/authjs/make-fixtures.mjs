// Generates tests/authjs/fixtures.json: Auth.js / NextAuth session cookies made by the
// real libraries, for jwt-gate's native tests (src/authjs). Run from this directory:
//
//   npm ci && node make-fixtures.mjs
//
// The tests only read fixtures.json; they never need npm. Everything that can be fixed
// is: secrets, claims and the clock. The JWE IV and `jti` are random, so a re-run
// produces different cookies with the same meaning.
//
// Versions (pinned in package.json / package-lock.json):
//   @auth/core 0.41.3      Auth.js v5: dir + A256CBC-HS512, HKDF salt = cookie name, `kid`
//   @auth/core-0.22        (npm:@auth/core@0.22.0) v5 before 0.23: dir + A256GCM, same salt, no `kid`
//   next-auth 4.24.15      NextAuth v4: dir + A256GCM, HKDF with an empty salt
//
// Chunking uses each library's own SessionStore (not part of the packages' export maps,
// so it is imported by file path): v5 splits values longer than 4096 - 160 = 3936
// characters into `<name>.0`, `<name>.1`, … (v4: 4096 - 163 = 3933).

import { readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"

import * as v5 from "@auth/core/jwt"
import * as v5gcm from "@auth/core-0.22/jwt"
import { SessionStore as V5SessionStore } from "./node_modules/@auth/core/lib/utils/cookie.js"

const require = createRequire(import.meta.url)
const v4 = require("next-auth/jwt")
const { SessionStore: V4SessionStore } = require("./node_modules/next-auth/core/lib/cookie.js")

// 2025-01-01T00:00:00Z. Auth.js reads the clock through `new Date()` (jose) and
// `Date.now()` (its own `exp`), so both are pinned.
const NOW = 1735689600
let clock = NOW
const RealDate = Date
globalThis.Date = class extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(clock * 1000)
    else super(...args)
  }
  static now() {
    return clock * 1000
  }
}

const SECRETS = {
  current: "jwt-gate test secret (current) 6f1c0e0b9a1d4e2f8c7b",
  previous: "jwt-gate test secret (previous) 2b7d9e4a1c3f5e6d0a8b",
  wrong: "jwt-gate test secret (wrong) 9e8d7c6b5a4f3e2d1c0b",
}

const CLAIMS = {
  name: "Ada Lovelace",
  email: "ada@example.com",
  picture: "https://example.com/ada.png",
  sub: "user-1815",
}

// Enough data that the encrypted value needs four chunks.
const BIG_CLAIMS = {
  ...CLAIMS,
  groups: Array.from({ length: 700 }, (_, i) => `group-${String(i).padStart(4, "0")}`),
}

const THIRTY_ONE_DAYS = 31 * 24 * 60 * 60
const silent = { debug() {}, warn() {}, error() {} }

function v5Chunks(name, value) {
  const store = new V5SessionStore({ name, options: {} }, {}, silent)
  return store.chunk(value, {}).map((c) => [c.name, c.value])
}

function v4Chunks(name, value) {
  const store = new V4SessionStore({ name, options: {} }, {}, silent)
  return store.chunk(value, {}).map((c) => [c.name, c.value])
}

async function at(time, fn) {
  clock = time
  try {
    return await fn()
  } finally {
    clock = NOW
  }
}

// What the library itself makes of the cookie at NOW (null = it refuses it).
async function libraryDecode(lib, token, secrets, salt) {
  try {
    if (lib === v4) return await v4.decode({ token, secret: secrets[0] })
    // @auth/core before 0.23 takes one secret, later versions a list.
    if (lib === v5gcm) return await lib.decode({ token, secret: secrets[0], salt })
    return await lib.decode({ token, secret: secrets, salt })
  } catch {
    return null
  }
}

const cases = []

async function add({ name, library, version, cookie, secure = false, secret, claims = CLAIMS, time = NOW, lib, chunk, expect, note }) {
  const cookieName = `${secure ? "__Secure-" : ""}${cookie}`
  const secrets = [SECRETS[secret]]
  const token = await at(time, () =>
    lib === v4
      ? v4.encode({ token: claims, secret: secrets[0] })
      : lib.encode({ token: claims, secret: lib === v5gcm ? secrets[0] : secrets, salt: cookieName }),
  )
  const header = JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString())
  const cookies = chunk(cookieName, token)
  // The library's view, with the secrets jwt-gate is configured with in the tests.
  const decoded = await libraryDecode(lib, token, [SECRETS.current, SECRETS.previous], cookieName)
  cases.push({
    name,
    note,
    library,
    version,
    config_cookie: cookie,
    cookie_name: cookieName,
    encrypted_with: secret,
    header,
    cookies,
    expect,
    library_accepts_at_now: decoded !== null,
    // The claims as the library reads them with the secret that made the cookie, at the
    // time it was made.
    payload: await at(time, () => libraryDecode(lib, token, secrets, cookieName)),
  })
}

const lock = JSON.parse(readFileSync(new URL("./package-lock.json", import.meta.url)))
const version = (p) => lock.packages[`node_modules/${p}`].version

const V5 = { library: `@auth/core@${version("@auth/core")}`, version: 5, cookie: "authjs.session-token", lib: v5, chunk: v5Chunks }
const V5GCM = { library: `@auth/core@${version("@auth/core-0.22")}`, version: 5, cookie: "authjs.session-token", lib: v5gcm, chunk: v5Chunks }
const V4 = { library: `next-auth@${version("next-auth")}`, version: 4, cookie: "next-auth.session-token", lib: v4, chunk: v4Chunks }

await add({ ...V5, name: "v5_valid", secret: "current", expect: "ok", note: "A256CBC-HS512 with kid" })
await add({ ...V5, name: "v5_secure_valid", secure: true, secret: "current", expect: "ok", note: "__Secure- prefix: the salt is the prefixed name" })
await add({ ...V5, name: "v5_expired", secret: "current", time: NOW - THIRTY_ONE_DAYS, expect: "expired", note: "issued 31 days before now with the default 30-day maxAge" })
await add({ ...V5, name: "v5_chunked", secret: "current", claims: BIG_CLAIMS, expect: "ok", note: "chunked by the library's SessionStore" })
await add({ ...V5, name: "v5_secure_chunked", secure: true, secret: "current", claims: BIG_CLAIMS, expect: "ok", note: "chunked, __Secure- prefix" })
await add({ ...V5, name: "v5_rotated", secret: "previous", expect: "ok", note: "made with the previous secret; configured secrets are [current, previous]" })
await add({ ...V5, name: "v5_wrong_secret", secret: "wrong", expect: "bad_signature", note: "made with a secret jwt-gate does not have" })
await add({ ...V5GCM, name: "v5_gcm_valid", secret: "current", expect: "ok", note: "@auth/core 0.18.1-0.22.0: A256GCM, salt = cookie name, no kid" })
await add({ ...V5GCM, name: "v5_gcm_rotated", secret: "previous", expect: "ok", note: "no kid: jwt-gate tries each secret (Auth.js itself only the first)" })
await add({ ...V4, name: "v4_valid", secret: "current", expect: "ok", note: "A256GCM, empty HKDF salt" })
await add({ ...V4, name: "v4_secure_valid", secure: true, secret: "current", expect: "ok", note: "__Secure- prefix does not change the v4 key" })
await add({ ...V4, name: "v4_expired", secret: "current", time: NOW - THIRTY_ONE_DAYS, expect: "expired", note: "issued 31 days before now" })
await add({ ...V4, name: "v4_chunked", secret: "current", claims: BIG_CLAIMS, expect: "ok", note: "chunked by the library's SessionStore" })
await add({ ...V4, name: "v4_rotated", secret: "previous", expect: "ok", note: "NextAuth v4 has one secret; rotation is jwt-gate's" })
await add({ ...V4, name: "v4_wrong_secret", secret: "wrong", expect: "bad_signature", note: "made with a secret jwt-gate does not have" })

const out = {
  about: "Generated by tests/authjs/make-fixtures.mjs with the real Auth.js / NextAuth encoders. Do not edit by hand.",
  now: NOW,
  secrets: SECRETS,
  configured_secrets: ["current", "previous"],
  cases,
}
writeFileSync(new URL("./fixtures.json", import.meta.url), JSON.stringify(out, null, 2) + "\n")
for (const c of cases) {
  console.log(`${c.name.padEnd(18)} ${c.library.padEnd(20)} ${c.cookies.length} cookie(s) enc=${c.header.enc} kid=${c.header.kid ? "yes" : "no "} library_accepts=${c.library_accepts_at_now}`)
}
