//! `GET /api/v1/auth/captcha/{challenge}.png`: the picture of a sign-in's CAPTCHA.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(captcha_image))
}

/// The CAPTCHA picture named by a login answer's `image` (`{challenge}.png`). Not stored by
/// caches; gone once the challenge is answered or expires.
#[utoipa::path(get, path = "/api/v1/auth/captcha/{file}", tag = "auth",
    params(("file" = String, Path, description = "The challenge followed by `.png`")),
    responses((status = 200, content_type = "image/png", description = "The picture"),
        (status = 404, description = "Unknown, used or expired challenge", body = crate::error::Problem)))]
async fn captcha_image(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response> {
    // The router cannot match a parameter followed by a suffix, so the name is split here.
    let challenge = file.strip_suffix(".png").ok_or(Error::NotFound("captcha"))?;
    let png = super::service::picture(&state, challenge, now_ms()).await?.ok_or(Error::NotFound("captcha"))?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response())
}
