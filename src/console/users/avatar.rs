//! A user's avatar (R7): see it, upload a new one, remove it.

use axum::extract::{Multipart, Path, State};
use axum::response::Response;
use maud::html;

use super::actions::breadcrumbs;
use crate::access::Permission;
use crate::console::extract::{ConsoleUser, Failure, OrFail, go};
use crate::console::ui::{self, Nav};
use crate::error::Error;
use crate::ids::UserId;
use crate::state::AppState;
use crate::users::service::{self, AVATAR_MAX_BYTES};

pub(in crate::console) async fn page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    // A user out of reach (D2) is refused here as uploading would be: 403, with the reason.
    let view = crate::users::reach::changeable(&state, &principal, UserId(id)).await.or_fail(&user)?;
    // The image comes from the API route, which takes the console's session cookie for reads.
    let src =
        format!("/api/v1/accounts/{}/users/{id}/avatar?v={}", crate::http::path_segment(&account.slug), view.version);
    let body = html! {
        (breadcrumbs(&view, "Avatar"))
        (ui::page_head("Avatar", Some(&format!("The picture shown for {}", view.login)), html! {}))
        section.panel.narrow {
            @if view.has_avatar {
                img #avatar-image .avatar-large src=(src) alt=(format!("Avatar of {}", view.login)) width="160" height="160";
            } @else {
                p.muted #avatar-none { "No avatar yet." }
            }
            form #avatar-form hx-post=(format!("/console/users/{id}/avatar")) hx-encoding="multipart/form-data" {
                div.field {
                    label for="f-avatar" { "Image file" }
                    input #f-avatar type="file" name="avatar" accept="image/png,image/jpeg,image/gif,image/webp" required
                        aria-describedby="f-avatar-hint";
                    p.hint #f-avatar-hint {
                        "PNG, JPEG, GIF or WebP; at most " (AVATAR_MAX_BYTES / 1024) " KiB and 4096×4096 pixels."
                    }
                }
                div.form-actions {
                    button.button.primary type="submit" { "Upload" }
                    a.button.subtle href=(format!("/console/users/{id}/edit")) { "Back to the user" }
                }
            }
            @if view.has_avatar {
                form hx-post=(format!("/console/users/{id}/avatar/remove")) {
                    button.button.danger.small type="submit" { "Remove the avatar" }
                }
            }
        }
    };
    Ok(user.page(Nav::Users, "Avatar", body))
}

pub(in crate::console) async fn upload(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
    mut form: Multipart,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    let mut bytes = None;
    while let Some(field) = form.next_field().await.map_err(|e| Error::BadRequest(e.body_text())).or_fail(&user)? {
        if field.name() == Some("avatar") {
            bytes = Some(field.bytes().await.map_err(|e| Error::BadRequest(e.body_text())).or_fail(&user)?);
        }
    }
    let bytes = bytes
        .filter(|b| !b.is_empty())
        .ok_or_else(|| Error::invalid("avatar", "required", "choose an image file to upload"))
        .or_fail(&user)?;
    service::put_avatar(&state, &principal, UserId(id), &bytes).await.or_fail(&user)?;
    Ok(go(user.htmx, &format!("/console/users/{id}/avatar")))
}

pub(in crate::console) async fn remove(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    let account = user.allow(&state, Permission::UsersEdit).await?;
    let principal = user.principal(&account, Permission::UsersEdit);
    service::delete_avatar(&state, &principal, UserId(id)).await.or_fail(&user)?;
    Ok(go(user.htmx, &format!("/console/users/{id}/avatar")))
}
