//! The browser flow: jwt-gate redirects a navigation without a token to
//! `/login?return_to=<original path>`; the form posts back here; on success the token goes
//! into an HttpOnly cookie (the source jwt-gate reads for browsers) and the browser goes
//! back to `return_to` — only ever a path on this origin (see [`super::redirect`]).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::login::{authenticate, issue_token, LoginError};
use super::redirect::safe_return_to;
use super::AppState;
use crate::common::html::{escape, page};

/// The cookie jwt-gate's demo config reads (`"from": [..., {"cookie": "access_token"}]`).
pub const COOKIE_NAME: &str = "access_token";

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    return_to: Option<String>,
}

/// `GET /login?return_to=/app/`. A malformed query just means "no return_to".
pub async fn show(query: Result<Query<LoginQuery>, QueryRejection>) -> Response {
    let return_to = query.ok().and_then(|Query(q)| q.return_to);
    let return_to = safe_return_to(return_to.as_deref());
    login_form(StatusCode::OK, "", return_to, None)
}

/// `POST /login` (form): 303 to `return_to` with the cookie set, or the form again.
pub async fn submit(
    State(state): State<AppState>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_form(
            StatusCode::BAD_REQUEST,
            "",
            safe_return_to(None),
            Some("The form could not be read; please try again."),
        );
    };
    let return_to = safe_return_to(form.return_to.as_deref());
    let user = match authenticate(&state, &form.username, &form.password).await {
        Ok(user) => user,
        Err(LoginError::InvalidCredentials) => {
            return login_form(
                StatusCode::UNAUTHORIZED,
                &form.username,
                return_to,
                Some("Invalid username or password."),
            )
        }
        Err(LoginError::BadRequest(msg)) => {
            return login_form(
                StatusCode::BAD_REQUEST,
                &form.username,
                return_to,
                Some(msg),
            )
        }
        Err(LoginError::Internal(e)) => return e.into_response(),
    };
    let token = match issue_token(&state, &user) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        state.config.token_ttl_s
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, return_to.to_owned()),
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// `GET|POST /logout`: expires the cookie and goes back to the login page. (A GET logout
/// can be triggered cross-site; for a demo the worst case is being logged out.)
pub async fn logout(State(state): State<AppState>) -> Response {
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{COOKIE_NAME}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{secure}");
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/login?return_to=/app/".to_owned()),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response()
}

fn login_form(
    status: StatusCode,
    username: &str,
    return_to: &str,
    error: Option<&str>,
) -> Response {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1>\n{error}\
         <form method=\"post\" action=\"/login\">\
         <input type=\"hidden\" name=\"return_to\" value=\"{return_to}\">\
         <label for=\"username\">Username</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" value=\"{username}\" required autofocus>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>\n\
         <p>Demo users: <code>alice</code> / <code>alice-password</code> (admin), \
         <code>bob</code> / <code>bob-password</code> (reader).</p>\n\
         <p>After signing in you go back to <code>{return_to}</code>.</p>",
        return_to = escape(return_to),
        username = escape(username),
    );
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(page("jwt-gate demo — sign in", &body)),
    )
        .into_response()
}
